"""Progress bars for the commands that run methods (tqdm on stderr)."""

from __future__ import annotations

import sys

from tqdm import tqdm


class JobBar:
    """One bar over benchmark jobs (done, throughput and ETA from tqdm); the postfix shows failures,
    jobs in flight (ray) or the job in flight and its live loss (local)."""

    def __init__(self, total: int, desc: str = "bench"):
        # On a terminal the postfix redraws live; in a log (CI, nohup) only when a job ends.
        self.live = sys.stderr.isatty()
        self.bar = tqdm(total=total, desc=desc, unit="job", dynamic_ncols=True, mininterval=0.1 if self.live else 5.0)
        self.failed = 0
        self._running: int | None = None

    def _show(self, text: str) -> None:
        parts = [f"failed {self.failed}"] if self.failed else []
        if self._running is not None:
            parts.append(f"running {self._running}")
        else:
            parts.append(text)
        self.bar.set_postfix_str(" | ".join(parts), refresh=self.live)

    def loss(self, step: int, value: float) -> None:
        self._show(f"{self._job} step {step} loss {value:.3f}")

    def start(self, label: str) -> None:
        self._job = label
        self._show(label)

    def running(self, n: int) -> None:
        self._running = n
        self._show("")

    def done(self, line: dict) -> None:
        if line["status"] != "ok":
            self.failed += 1
            tqdm.write(f"failed: {line['method']} on {line['family']} #{line['index']}: {line['error']}")
        self.bar.update(1)
        self._show(self._job)

    def close(self) -> None:
        self.bar.close()

    _job = ""
