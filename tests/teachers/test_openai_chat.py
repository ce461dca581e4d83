"""The OpenAI-compatible query writer against a real HTTP server on 127.0.0.1 (no mock client)."""

import contextlib
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from vlmteach.bench.runner import BenchConfig, run_bench
from vlmteach.errors import VlmteachError
from vlmteach.tasks import get_family
from vlmteach.teachers import load
from vlmteach.teachers.openai_chat import ChatConfig, OpenAIChatWriter, parse_queries

GOOD = json.dumps({"goal": "Is the cyan ball on the green square at the end?",
                   "process": ["Does the ball stay out of the grey walls?", "Does the ball stay intact?"]})


class Server:
    """Answers POST /v1/chat/completions from a script of (status, text or delay) entries."""

    def __init__(self):
        self.script, self.requests = [], []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                outer.requests.append({"path": self.path, "auth": self.headers.get("Authorization"), "body": body})
                status, payload = outer.script.pop(0) if outer.script else (200, GOOD)
                if status == "sleep":
                    time.sleep(payload)
                    status, payload = 200, GOOD
                data = json.dumps({"choices": [{"message": {"role": "assistant", "content": payload}}]}).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                with contextlib.suppress(BrokenPipeError):  # the client timed out (the timeout test)
                    self.wfile.write(data)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/v1"
        threading.Thread(target=self.httpd.serve_forever, daemon=True).start()


@pytest.fixture
def server():
    s = Server()
    yield s
    s.httpd.shutdown()


@pytest.fixture
def inst():
    return get_family("maze").generate(1_000_000)


def writer(url, **kw):
    return OpenAIChatWriter(ChatConfig(url, model="m", backoff_s=0.01, **kw))


def test_queries_survive_a_server_error_and_a_malformed_answer(server, inst, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-secret")
    server.script = [(503, "busy"), (200, "Sure! Here are some questions."), (200, "```json\n" + GOOD + "\n```")]
    w = writer(server.url)
    qs = w.propose_queries(inst.first_frame, inst.prompt)
    assert qs.source == "generated" and qs.goal.startswith("Is the cyan ball") and len(qs.process) == 2
    assert len(server.requests) == 3 and server.requests[0]["path"] == "/v1/chat/completions"
    first = server.requests[0]
    assert first["auth"] == "Bearer sk-secret" and first["body"]["model"] == "m"
    parts = first["body"]["messages"][0]["content"]
    assert inst.prompt in parts[0]["text"] and parts[1]["image_url"]["url"].startswith("data:image/png;base64,")
    assert "invalid" in server.requests[2]["body"]["messages"][0]["content"][-1]["text"]
    assert "sk-secret" not in repr(w.cfg) and "sk-secret" not in json.dumps(qs.texts)


def test_a_persistently_malformed_writer_falls_back_to_marked_generic_queries(server, inst):
    server.script = [(200, '{"goal": "Reach the goal.", "process": []}')] * 2
    qs = writer(server.url).propose_queries(inst.first_frame, inst.prompt)
    assert qs.source == "generic-fallback" and len(server.requests) == 2


def test_errors_name_the_problem(server, inst):
    server.script = [(401, "no")]
    with pytest.raises(VlmteachError, match="HTTP 401"):
        writer(server.url).propose_queries(inst.first_frame, inst.prompt)
    assert len(server.requests) == 1  # a client error is not retried
    server.script = [("sleep", 1.0)] * 3
    with pytest.raises(VlmteachError, match="no answer after 2 attempts"):
        writer(server.url, timeout_s=0.2, retries=1).propose_queries(inst.first_frame, inst.prompt)
    with pytest.raises(VlmteachError, match="base URL"):
        load("openai_chat", "localhost:8000")
    with pytest.raises(VlmteachError, match="differentiable"):
        writer(server.url).yes_nll(inst.ground_truth.frames, ["Is it?"])


def test_parse_queries_checks_the_phrasing():
    assert parse_queries(GOOD).texts[0].endswith("?")
    with pytest.raises(ValueError, match="yes/no"):
        parse_queries('{"goal": "Move the ball.", "process": ["Does it stay intact?"]}')
    with pytest.raises(ValueError, match="1 to 3"):
        parse_queries('{"goal": "Is it done?", "process": ["Is a?", "Is b?", "Is c?", "Is d?"]}')


def test_a_benchmark_with_a_remote_writer_and_the_tiny_judge(server, tmp_path):
    # teacher_tto: queries; tpo: queries, critique of round 0, rewritten prompt, critique of round 1
    server.script = [(200, GOOD), (200, GOOD), (200, "- The ball vanishes."), (200, "Move the cyan ball to the green square.")]
    cfg = BenchConfig(suite="builtin", methods="teacher_tto[max_steps=1],tpo[rounds=2]", out=str(tmp_path / "run"),
                      n_per_family=1, families=["maze"], query_writer=f"openai_chat:{server.url},model=m,backoff_s=0.01")
    lines = [json.loads(x) for x in (run_bench(cfg) / "results.jsonl").read_text().splitlines()]
    tto, tpo = lines
    assert tto["status"] == "ok" and tto["trace"]["query_source"] == "generated"
    good = json.loads(GOOD)
    assert tto["trace"]["queries"] == [good["goal"], *good["process"]]
    assert tpo["status"] == "ok" and tpo["trace"]["rounds"][1]["prompt"] == "Move the cyan ball to the green square."
    assert tpo["trace"]["rounds"][0]["critique"] == "- The ball vanishes."


def test_the_query_writer_flag_reaches_the_method(server, tmp_path):
    from vlmteach.cli.main import main

    run = tmp_path / "run"
    assert main(["bench", "--families", "maze", "--n-per-family", "1", "--methods", "teacher_tto[max_steps=0]",
                 "--query-writer", f"openai_chat:{server.url},model=m", "--out", str(run), "--no-report"]) == 0
    (line,) = [json.loads(x) for x in (run / "results.jsonl").read_text().splitlines()]
    assert line["trace"]["queries"][0] == json.loads(GOOD)["goal"] and server.requests
