"""What a worker keeps under a session's versions (``documents.versions.Kept``): held while the version and the
time hold, bounded by weight, the least recently used dropped first."""

import time

from documents.versions import Kept


def test_a_value_is_kept_under_its_version_and_for_its_time_only() -> None:
    kept: Kept[str] = Kept(ttl=0.2, limit=10)
    kept.put(1, "v1", "one")
    assert kept.get(1, "v1") == "one"
    assert kept.get(1, "v2") is None
    assert kept.get(2, "v1") is None
    time.sleep(0.25)
    assert kept.get(1, "v1") is None


def test_the_weight_kept_stays_within_the_limit_dropping_the_least_recently_used() -> None:
    kept: Kept[str] = Kept(limit=100)
    for dc in range(1, 11):
        kept.put(dc, "v", f"dc{dc}", weight=10)
    assert kept.weight == 100
    assert kept.get(1, "v") == "dc1"  # now the most recently used
    kept.put(11, "v", "dc11", weight=10)
    assert kept.weight == 100
    assert kept.get(2, "v") is None
    assert [kept.get(dc, "v") for dc in (1, 3, 11)] == ["dc1", "dc3", "dc11"]
    kept.put(3, "w", "dc3 again", weight=2)  # a value put again replaces the old one's weight
    assert kept.weight == 92
    assert kept.get(3, "w") == "dc3 again"


def test_a_value_heavier_than_a_tenth_of_the_limit_is_not_kept_nor_leaves_an_old_one() -> None:
    kept: Kept[str] = Kept(limit=100)
    kept.put(1, "v1", "small", weight=10)
    kept.put(1, "v2", "big", weight=11)
    assert (kept.get(1, "v1"), kept.get(1, "v2"), kept.weight) == (None, None, 0)
