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


def render(path, *extra):
    return subprocess.run([BIN, "postmortem", "render", str(path), *extra],
                          capture_output=True, text=True, timeout=30)


def test_render_is_one_page_with_a_mark_per_milestone_and_no_script(tmp_path):
    from html.parser import HTMLParser

    class Page(HTMLParser):
        def __init__(self):
            super().__init__()
            self.tags, self.marks, self.open = [], [], []

        def handle_starttag(self, tag, attrs):
            self.tags.append(tag)
            cls = dict(attrs).get("class", "")
            if tag == "g" and cls.startswith("mark "):
                self.marks.append(cls.split()[1])

    out = tmp_path / "pm.html"
    r = render(EXAMPLE, "-o", str(out))
    assert r.returncode == 0, r.stderr
    page = Page()
    page.feed(out.read_text())
    assert page.tags.count("svg") == 1 and "script" not in page.tags
    assert page.marks == ["detection", "page", "ack", "escalation", "mitigation", "resolution"]
    assert "Content-Security-Policy" in out.read_text()
    # raw HTML in the Markdown is left out, not passed through
    evil = tmp_path / "evil.md"
    evil.write_text(EXAMPLE.read_text().replace(
        "All times are UTC.", "All times are UTC.\n\n<script>alert(1)</script>\n\n"
        "[x](javascript:alert(2))"))
    html = render(evil).stdout
    assert "<script" not in html and "javascript:" not in html


def test_the_committed_rendered_example_is_current():
    assert render(EXAMPLE).stdout == (ROOT / "examples" / "postmortem.html").read_text()
