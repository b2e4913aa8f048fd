"""Today's estimate kept on disk for a restart: read back exactly, and junk is ignored."""

from __future__ import annotations

from polybot_device.cost.ledger import load, save


def test_it_reads_back_what_it_wrote(tmp_path):
    path = tmp_path / "cost-today.json"
    save(path, "2026-12-05", 1.2345)
    assert load(path) == ("2026-12-05", 1.2345)
    assert oct(path.stat().st_mode & 0o777) == "0o600"


def test_a_missing_broken_or_hostile_file_is_ignored(tmp_path):
    path = tmp_path / "cost-today.json"
    assert load(path) is None
    for junk in ("", "{", "[]", '{"day": "2026-12-05", "today": -1}', '{"day": "2026-12-05", "today": "9"}',
                 '{"day": 5, "today": 1}', '{"day": "2026-12-05", "today": 1e999}', '{"day": "x", "today": 1}',
                 '{"day": "2026-12-05", "today": true}', " " * 100_000 + "{}"):
        path.write_text(junk)
        assert load(path) is None, junk
