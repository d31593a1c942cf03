"""The digest's trend as a small PNG chart; matplotlib is imported only when one is drawn."""

from __future__ import annotations

import io
from collections.abc import Sequence

from bot.domain.digest import WeekPoint


def trend_chart(trend: Sequence[WeekPoint]) -> bytes:
    """A small bar chart of open findings per week, as PNG bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib import pyplot

    figure, axes = pyplot.subplots(figsize=(6, 2.4), dpi=100)
    labels = [point.week_end.strftime("%b %d") for point in trend]
    axes.bar(labels, [point.open_findings for point in trend], color="#e01e5a")
    axes.set_title("Open findings (idle passwords and access keys), week by week", fontsize=10)
    axes.tick_params(labelsize=8)
    axes.spines[["top", "right"]].set_visible(False)
    figure.tight_layout()
    out = io.BytesIO()
    figure.savefig(out, format="png")
    pyplot.close(figure)
    return out.getvalue()
