"""results.jsonl (bench/store.py): keys, the latest line of a job wins, torn last lines are cut,
corrupt lines are set aside with their numbers (never dropped), appends are whole compact lines."""

from __future__ import annotations

import json
import warnings

import pytest

from vlmteach.bench.store import CORRUPT, RESULTS, ResultStore, job_key, line_key
from vlmteach.errors import VlmteachWarning


def line(index=0, method="vanilla", status="ok", **kw):
    return {"split": "in", "family": "maze", "index": index, "method": method, "status": status, **kw}


def write(tmp_path, *texts: str, end: str = "\n"):
    (tmp_path / RESULTS).write_text("\n".join(texts) + end, encoding="utf-8")


def test_keys():
    assert job_key("in/maze/00003", "teacher_tto[lr=1]") == "teacher_tto[lr=1]|in/maze/00003"
    assert line_key(line(3, "tpo")) == "tpo|in/maze/00003"
    assert line_key({**line(), "index": "12"}) == "vanilla|in/maze/00012"


def test_an_empty_folder_is_an_empty_store(tmp_path):
    store = ResultStore(tmp_path)
    assert len(store) == 0 and store.get("vanilla|in/maze/00000") is None
    assert not store.done("vanilla|in/maze/00000")
    assert not (tmp_path / RESULTS).exists()
    (tmp_path / RESULTS).write_text("")
    assert len(ResultStore(tmp_path)) == 0 and (tmp_path / RESULTS).read_text() == ""


def test_the_latest_line_of_a_job_wins_and_done_honours_retry_failed(tmp_path):
    write(tmp_path, json.dumps(line(0, status="failed")), json.dumps(line(1, status="failed")),
          json.dumps(line(0, status="ok", score=0.5)))
    store = ResultStore(tmp_path)
    assert len(store) == 2
    ok, failed = "vanilla|in/maze/00000", "vanilla|in/maze/00001"
    assert store.get(ok)["score"] == 0.5
    assert store.done(ok) and store.done(ok, retry_failed=True)
    assert store.done(failed) and not store.done(failed, retry_failed=True)


def test_append_writes_one_compact_line_and_indexes_it(tmp_path):
    store = ResultStore(tmp_path)
    store.append(line(4, score=0.25))
    store.append(line(4, score=0.75))
    text = (tmp_path / RESULTS).read_text()
    assert text == (json.dumps(line(4, score=0.25), separators=(",", ":")) + "\n"
                    + json.dumps(line(4, score=0.75), separators=(",", ":")) + "\n")
    assert len(store) == 1 and store.get("vanilla|in/maze/00004")["score"] == 0.75
    assert (tmp_path / RESULTS).stat().st_mode & 0o111 == 0  # a data file, not executable
    assert ResultStore(tmp_path).get("vanilla|in/maze/00004")["score"] == 0.75


def test_a_torn_last_line_is_cut_and_a_whole_file_is_left_alone(tmp_path):
    write(tmp_path, json.dumps(line(0)), '{"split": "in", "fam', end="")
    store = ResultStore(tmp_path)
    assert len(store) == 1 and (tmp_path / RESULTS).read_text() == json.dumps(line(0)) + "\n"
    assert not (tmp_path / CORRUPT).exists()
    write(tmp_path, '{"split": "in"', end="")  # a torn first line: nothing before it survives
    assert len(ResultStore(tmp_path)) == 0 and (tmp_path / RESULTS).read_text() == ""
    whole = json.dumps(line(0)) + "\n" + json.dumps(line(1)) + "\n"
    (tmp_path / RESULTS).write_text(whole)
    assert len(ResultStore(tmp_path)) == 2 and (tmp_path / RESULTS).read_text() == whole


def test_corrupt_lines_are_set_aside_with_their_numbers(tmp_path):
    good = [json.dumps(line(i)) for i in range(3)]
    write(tmp_path, good[0], "not json", "", good[1], "[1, 2]", json.dumps({"split": "in"}),
          json.dumps({**line(), "index": "x"}), good[2])
    with pytest.warns(VlmteachWarning) as record:
        store = ResultStore(tmp_path)
    assert len(record) == 1
    assert str(record[0].message) == (f"{tmp_path / RESULTS}: 4 corrupt line(s) (line 2, 5, 6, 7) moved to "
                                      f"{CORRUPT}; their jobs run again")
    assert len(store) == 3
    assert (tmp_path / RESULTS).read_text() == "".join(g + "\n" for g in good)  # the blank line is dropped too
    side = [json.loads(x) for x in (tmp_path / CORRUPT).read_text().splitlines()]
    assert [(e["line"], e["text"]) for e in side] == [
        (2, "not json"), (5, "[1, 2]"), (6, json.dumps({"split": "in"})), (7, json.dumps({**line(), "index": "x"}))]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(ResultStore(tmp_path)) == 3  # clean now: no warning, the side file is not touched
    assert len((tmp_path / CORRUPT).read_text().splitlines()) == 4


def test_more_than_five_corrupt_lines_are_summarised(tmp_path):
    write(tmp_path, *(["junk"] * 7))
    with pytest.warns(VlmteachWarning, match=r"7 corrupt line\(s\) \(line 1, 2, 3, 4, 5 \.\.\.\)"):
        ResultStore(tmp_path)
    write(tmp_path, "junk", "more junk")
    with pytest.warns(VlmteachWarning) as record:
        ResultStore(tmp_path)
    assert "(line 1, 2) moved" in str(record[0].message)  # appended to the side file, not replacing it
    assert len((tmp_path / CORRUPT).read_text().splitlines()) == 9


def test_undecodable_bytes_do_not_stop_the_load(tmp_path):
    (tmp_path / RESULTS).write_bytes(json.dumps(line(0)).encode() + b"\n\xff\xfe\n")
    with pytest.warns(VlmteachWarning, match="1 corrupt line"):
        store = ResultStore(tmp_path)
    assert len(store) == 1


def test_exactly_five_corrupt_lines_are_all_named(tmp_path):
    write(tmp_path, *(["junk"] * 5))
    with pytest.warns(VlmteachWarning) as record:
        ResultStore(tmp_path)
    assert "(line 1, 2, 3, 4, 5) moved" in str(record[0].message)


def test_a_torn_line_after_several_good_ones_loses_only_itself(tmp_path):
    good = [json.dumps(line(i)) for i in range(3)]
    write(tmp_path, *good, '{"spl', end="")
    assert len(ResultStore(tmp_path)) == 3
    assert (tmp_path / RESULTS).read_text() == "".join(g + "\n" for g in good)
    (tmp_path / RESULTS).write_text("{")  # a single torn byte
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # cut, not set aside as corrupt
        assert len(ResultStore(tmp_path)) == 0
    assert (tmp_path / RESULTS).read_text() == "" and not (tmp_path / CORRUPT).exists()
