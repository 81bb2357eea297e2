"""Charts drawn on the server as inline SVG: no chart library to ship, nothing
to run on a cheap phone or a command-centre PC without internet, and they
print. Every chart has a text equivalent in the table beside it; the SVG is
marked up with <title> elements so a hover (or a screen reader) tells a value.

Two shapes cover the dashboards: horizontal bars (rankings, one bar per
department) and lines over days (trends, one or two series)."""
from markupsafe import Markup, escape

BAR_HEIGHT = 22
BAR_GAP = 6
LABEL_WIDTH = 150
VALUE_WIDTH = 90
PALETTE = ("#1565c0", "#ef6c00", "#2e7d32", "#6a1b9a")


def _fmt(value, percent):
    if value is None:
        return "–"
    return f"{value * 100:.1f}%" if percent else f"{value:g}"


def bar_chart(items, *, width=560, percent=True, maximum=None, title=""):
    """items: (label, value or None, note) in the order to draw; `note` is shown
    after the value (e.g. the counts behind a rate). None draws no bar."""
    items = list(items)
    top = maximum if maximum is not None else max([v for _, v, _ in items if v is not None] or [1]) or 1
    plot = width - LABEL_WIDTH - VALUE_WIDTH
    height = len(items) * (BAR_HEIGHT + BAR_GAP) + BAR_GAP
    parts = [f'<svg class="chart bars" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">']
    for index, (label, value, note) in enumerate(items):
        y = BAR_GAP + index * (BAR_HEIGHT + BAR_GAP)
        text_y = y + BAR_HEIGHT * 0.7
        parts.append(f'<text x="{LABEL_WIDTH - 8}" y="{text_y:.1f}" text-anchor="end" class="label">'
                     f'{escape(_short(label))}</text>')
        parts.append(f'<rect x="{LABEL_WIDTH}" y="{y}" width="{plot}" height="{BAR_HEIGHT}" class="track"/>')
        if value is not None:
            length = max(1.0, plot * min(value, top) / top) if value else 0
            parts.append(f'<rect x="{LABEL_WIDTH}" y="{y}" width="{length:.1f}" height="{BAR_HEIGHT}" '
                         f'class="bar"><title>{escape(label)}: {_fmt(value, percent)} {escape(note or "")}</title>'
                         '</rect>')
        parts.append(f'<text x="{LABEL_WIDTH + plot + 6}" y="{text_y:.1f}" class="value">'
                     f'{_fmt(value, percent)}</text>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _short(label, limit=10):
    label = str(label)
    return label if len(label) <= limit else label[:limit - 1] + "…"


def line_chart(days, series, *, width=640, height=200, percent=False, title=""):
    """days: the x axis (dates, oldest first); series: [(name, [value or None per
    day])], up to four. Gaps (None) break the line. Y starts at 0."""
    left, right, top_pad, bottom = 44, 12, 12, 28
    plot_w, plot_h = width - left - right, height - top_pad - bottom
    values = [v for _, vs in series for v in vs if v is not None]
    top = (1.0 if percent else max(values or [1])) or 1
    if not percent:
        top = _nice(top)
    step = plot_w / max(1, len(days) - 1)

    def xy(index, value):
        return left + index * step, top_pad + plot_h - plot_h * value / top

    parts = [f'<svg class="chart lines" viewBox="0 0 {width} {height}" width="100%" role="img" '
             f'aria-label="{escape(title)}" xmlns="http://www.w3.org/2000/svg">']
    for fraction in (0, 0.5, 1):
        y = top_pad + plot_h - plot_h * fraction
        parts.append(f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>')
        parts.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" class="axis">'
                     f'{_fmt(top * fraction, percent) if percent else f"{top * fraction:g}"}</text>')
    for index in _ticks(len(days)):
        x, _ = xy(index, 0)
        parts.append(f'<text x="{x:.1f}" y="{height - 8}" text-anchor="middle" class="axis">'
                     f'{days[index].month}/{days[index].day}</text>')
    for number, (name, vs) in enumerate(series[:len(PALETTE)]):
        colour = PALETTE[number]
        for run in _runs(vs):
            points = " ".join("{:.1f},{:.1f}".format(*xy(i, vs[i])) for i in run)
            if len(run) == 1:
                x, y = xy(run[0], vs[run[0]])
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="2.5" fill="{colour}"/>')
            else:
                parts.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="2"/>')
        for i, value in enumerate(vs):
            if value is not None:
                x, y = xy(i, value)
                parts.append(f'<circle cx="{x:.1f}" cy="{y:.1f}" r="6" class="hit"><title>{escape(name)} '
                             f'{days[i].isoformat()}: {_fmt(value, percent)}</title></circle>')
    parts.append("</svg>")
    return Markup("".join(parts))


def _nice(value):
    """The next 1, 2 or 5 × 10^n at or above value: round axis labels."""
    magnitude = 1
    while magnitude * 10 <= value:
        magnitude *= 10
    for factor in (1, 2, 5, 10):
        if factor * magnitude >= value:
            return factor * magnitude
    return 10 * magnitude


def _ticks(count, wanted=6):
    if count <= wanted:
        return list(range(count))
    every = max(1, round((count - 1) / (wanted - 1)))
    ticks = list(range(0, count, every))
    if ticks[-1] != count - 1:
        ticks.append(count - 1)
    return ticks


def _runs(values):
    """Index runs of consecutive non-None values."""
    runs, current = [], []
    for index, value in enumerate(values):
        if value is None:
            if current:
                runs.append(current)
            current = []
        else:
            current.append(index)
    if current:
        runs.append(current)
    return runs
