"""The README documents every setting the service has, so the two cannot drift apart."""

from pathlib import Path

from app.config import Settings

README = (Path(__file__).resolve().parents[2] / "README.md").read_text()


def test_every_setting_is_in_the_readme_table():
    missing = [name for name in Settings.model_fields if f"| `COLLECTOR_{name.upper()}` |" not in README]
    assert not missing, f"README's settings table lacks {missing}"
