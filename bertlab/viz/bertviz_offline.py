"""Make bertviz's views render offline and on the first run, from JavaScript bertlab ships.

bertviz 1.4 returns HTML whose first tag loads require.js from a CDN and whose script then asks
require.js for d3 and jQuery, again from a CDN. Offline nothing draws (`require is not defined`);
online, JupyterLab runs the inline script before the external require.js has arrived, so the
first render after Run All is blank too. Here the three libraries (in `bertlab/viz/js/`, with their
licences) are inlined into the output instead: inline scripts run in order, so require.js exists
when bertviz's script runs, and d3 and jQuery are registered as named modules, so nothing is
fetched. The page needs no network, in JupyterLab, in an exported notebook and in the course site.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

JS_DIR = Path(__file__).with_name("js")
REQUIREJS_FILE = "require-2.3.6.js"
MODULE_FILES = {"d3": "d3-5.7.0.min.js", "jquery": "jquery-2.1.0.min.js"}

_CDN_REQUIREJS = re.compile(r'<script src="https://[^"]*/require(?:\.min)?\.js"></script>')
_CDN_PATHS = re.compile(r"require\.config\(\{\s*paths:\s*\{[^}]*\}\s*\}\);")

# Run a UMD library with a `define` that registers it under a fixed name (d3's own call is
# anonymous, which require.js rejects outside a script it loaded itself).
_NAMED_MODULE = """(function (define) {{
{source}
}})((function () {{
  var named = function () {{
    var args = Array.prototype.slice.call(arguments);
    if (typeof args[0] !== "string") args.unshift({name!r});
    if (!window.require.defined({name!r})) window.define.apply(null, args);
  }};
  named.amd = {{ jQuery: true }};
  return named;
}})());"""

# jQuery also sets window.$ and window.jQuery; put back whatever the page had before.
_RESTORE_JQUERY = (
    "if (window.jQuery && window.jQuery.fn.jquery === '2.1.0') window.jQuery.noConflict(true);"
)


@cache
def _read(name: str) -> str:
    return (JS_DIR / name).read_text(encoding="utf-8")


@cache
def loader_html() -> str:
    """The <script> tags that install require.js (unless the page has one) and d3 and jQuery."""
    # require.js returns early by itself when the page already has an AMD loader.
    modules = "\n".join(
        _NAMED_MODULE.format(source=_read(file), name=name) for name, file in MODULE_FILES.items()
    )
    return (
        f"<script>\n{_read(REQUIREJS_FILE)}\n</script>\n"
        f"<script>\n{modules}\n{_RESTORE_JQUERY}\n</script>\n"
    )


def offline_bertviz_html(html: str) -> str:
    """Rewrite the HTML of a bertviz view so that it loads nothing from the network."""
    if not _CDN_REQUIREJS.search(html) or not _CDN_PATHS.search(html):
        raise ValueError(
            "this bertviz output does not load require.js, d3 and jQuery the way bertviz 1.4 does; "
            "bertlab's offline adapter needs updating for this bertviz version"
        )
    html = _CDN_REQUIREJS.sub(lambda _: loader_html(), html, count=1)
    return _CDN_PATHS.sub("", html)
