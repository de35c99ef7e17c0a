"""`tocsin postmortem lint FILE.md`: findings as FILE:LINE: error|warning: message,
exit 1 on errors, 0 with warnings alone (DESIGN.md section 6)."""
import re
import subprocess

from conftest import BIN, ROOT

EXAMPLE = ROOT / "examples" / "postmortem.md"


def lint(path):
    return subprocess.run([BIN, "postmortem", "lint", str(path)], capture_output=True,
                          text=True, timeout=30)


def test_the_example_postmortem_lints_clean():
    r = lint(EXAMPLE)
    assert r.returncode == 0 and r.stdout == "" and r.stderr == ""


def test_errors_exit_1_with_file_line_and_how_to_fix(tmp_path):
    bad = tmp_path / "pm.md"
    bad.write_text(EXAMPLE.read_text().replace("- 09:41 - Bob found", "- Bob found"))
    r = lint(bad)
    assert r.returncode == 1
    line = next(n for n, text in enumerate(bad.read_text().splitlines(), 1)
                if text.startswith("- Bob found"))
    assert f"{bad}:{line}: error: Timeline: write each item as 'TIME - what happened'" \
        in r.stdout
    assert all(re.match(rf"{re.escape(str(bad))}:\d+: (error|warning): ", x)
               for x in r.stdout.splitlines())


def test_warnings_alone_exit_0(tmp_path):
    warn = tmp_path / "pm.md"
    warn.write_text(EXAMPLE.read_text().replace(
        "Bob rolled back deploy 220.", "Bob rolled back deploy 220, which was human error."))
    r = lint(warn)
    assert r.returncode == 0
    assert ": warning: blameless wording: 'human error'" in r.stdout


def test_a_missing_file_fails_clearly(tmp_path):
    r = lint(tmp_path / "nope.md")
    assert r.returncode == 1 and "nope.md" in r.stderr
    r = subprocess.run([BIN, "postmortem", "lint"], capture_output=True, text=True)
    assert r.returncode == 2 and "usage: tocsin postmortem lint FILE.md" in r.stderr
