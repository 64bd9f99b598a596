"""The geometry of the server-drawn bar charts (services.charts), without a template."""

from __future__ import annotations

import pytest

from services.charts import columns, rows


def test_columns_scale_the_largest_value_to_the_plot_and_share_the_width():
    chart = columns([("jan", 100), ("fév", 50), ("mar", 0), ("avr", 25)], width=400, height=120, gap=0.2,
                    top=10, bottom=10)
    assert chart.baseline == 110  # no negative value: the zero line is the plot's bottom
    assert [(b.label, b.x, b.width) for b in chart.bars] == [("jan", 10, 80), ("fév", 110, 80), ("mar", 210, 80),
                                                             ("avr", 310, 80)]
    assert [(b.y, b.height) for b in chart.bars] == [(10, 100), (60, 50), (110, 0), (85, 25)]
    assert all(b.y + b.height == chart.baseline for b in chart.bars)


def test_negative_columns_hang_below_the_zero_line():
    chart = columns([("oct", 300), ("nov", -100)], width=200, height=100, gap=0, top=0, bottom=0)
    assert chart.baseline == 75 and (chart.max_value, chart.min_value) == (300, -100)
    up, down = chart.bars
    assert (up.y, up.height, up.negative) == (0, 75, False)
    assert (down.y, down.height, down.negative) == (75, 25, True)


@pytest.mark.parametrize("values", [[], [("a", 0), ("b", 0)]])
def test_columns_without_anything_to_draw_have_no_height(values):
    chart = columns(values, width=100, height=50, top=0, bottom=0)
    assert len(chart.bars) == len(values) and all(b.height == 0 for b in chart.bars)
    assert chart.baseline == 50


def test_rows_are_stacked_and_proportional():
    chart = rows([("Particuliers", 13980), ("Professionnels", 14400), ("Groupes", 7200), ("Rien", -5)],
                 width=480, bar_height=20, gap=10)
    assert chart.height == 4 * 30 - 10
    assert [b.y for b in chart.bars] == [0, 30, 60, 90]
    assert [b.width for b in chart.bars] == [round(480 * 13980 / 14400, 2), 480, 240, 0]
    assert all(b.height == 20 and b.x == 0 for b in chart.bars)


def test_rows_all_zero_are_empty_bars():
    assert [b.width for b in rows([("a", 0), ("b", 0)]).bars] == [0, 0]
