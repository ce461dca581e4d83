"""The benchmarks' row groups (bench/groups.py), against a hand-written expectation."""

from vlmteach.bench.groups import family_groups


def test_families_by_split_then_name_then_each_split_then_all():
    items = [("maze", "in", 1), ("rotation", "ood", 2), ("key_door", "in", 3), ("maze", "in", 4), ("counting", "ood", 5)]
    groups = family_groups(items, lambda x: (x[0], x[1]))
    assert [(name, [x[2] for x in sub]) for name, sub in groups] == [
        ("key_door", [3]), ("maze", [1, 4]), ("counting", [5]), ("rotation", [2]),
        ("all in", [1, 3, 4]), ("all ood", [2, 5]), ("all", [1, 2, 3, 4, 5])]


def test_a_split_without_items_has_no_row():
    groups = family_groups([("maze", "in", 1)], lambda x: (x[0], x[1]))
    assert [name for name, _ in groups] == ["maze", "all in", "all"]
