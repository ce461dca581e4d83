"""The catalog file that `vlmteach tasks list` reads equals what the families say of themselves."""

import json

from vlmteach.tasks.registry import CATALOG_FILE, catalog, family_names


def test_catalog_file_is_fresh():
    stored = json.loads(CATALOG_FILE.read_text())
    assert stored == catalog(), ("src/vlmteach/tasks/catalog.json is stale; refresh it with "
                                 "python -c 'from vlmteach.tasks.registry import write_catalog; write_catalog()'")
    assert [r["name"] for r in stored] == family_names()
