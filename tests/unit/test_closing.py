"""The expected shipping date (services.closing): working days, French public holidays
and closing periods, by table and by property. No database, no clock."""

from dataclasses import dataclass
from datetime import date, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services.closing import easter, expected_shipping_date, is_working_day, period_to_mention, public_holidays


@dataclass(frozen=True)
class P:
    starts_on: date
    ends_on: date


D = date.fromisoformat
HARVEST = P(D("2026-09-28"), D("2026-10-09"))  # Monday 28 Sept → Friday 9 Oct


@pytest.mark.parametrize("year, sunday", [(2024, "2024-03-31"), (2025, "2025-04-20"), (2026, "2026-04-05"),
                                          (2027, "2027-03-28"), (2038, "2038-04-25")])
def test_easter_sunday_matches_the_calendar(year, sunday):
    assert easter(year) == D(sunday)


def test_the_eleven_public_holidays_of_2026():
    assert sorted(public_holidays(2026)) == [D(d) for d in (
        "2026-01-01", "2026-04-06", "2026-05-01", "2026-05-08", "2026-05-14", "2026-05-25", "2026-07-14",
        "2026-08-15", "2026-11-01", "2026-11-11", "2026-12-25")]


@pytest.mark.parametrize("order_day, days, periods, expected", [
    ("2026-10-12", 2, [], "2026-10-14"),  # Monday + 2 working days
    ("2026-10-15", 2, [], "2026-10-19"),  # Thursday: Friday, (weekend), Monday
    ("2026-10-17", 2, [], "2026-10-20"),  # Saturday: Monday, Tuesday
    ("2026-10-12", 0, [], "2026-10-12"),  # no preparation: the same working day
    ("2026-10-17", 0, [], "2026-10-19"),  # no preparation on a Saturday: Monday
    ("2026-12-24", 1, [], "2026-12-28"),  # Christmas Friday, then the weekend
    ("2026-05-07", 1, [], "2026-05-11"),  # 8 May (Friday) is a holiday
    ("2026-05-13", 1, [], "2026-05-15"),  # Ascension Thursday
    ("2026-04-03", 1, [], "2026-04-07"),  # Easter Monday
    ("2026-07-13", 1, [], "2026-07-15"),  # 14 July
    ("2026-10-01", 2, [HARVEST], "2026-10-13"),  # inside the period: 2 working days after its end
    ("2026-09-25", 2, [HARVEST], "2026-10-13"),  # Friday before: Monday 28 is closed → 12, 13 Oct
    ("2026-09-24", 1, [HARVEST], "2026-09-25"),  # ships before the period starts
    ("2026-10-01", 0, [HARVEST], "2026-10-12"),  # no preparation: first working day after the end
    ("2026-10-09", 0, [HARVEST, P(D("2026-10-12"), D("2026-10-12"))], "2026-10-13"),  # periods back to back
])
def test_expected_shipping_date(order_day, days, periods, expected):
    assert expected_shipping_date(D(order_day), days, periods) == D(expected)


def test_the_period_to_mention_is_the_one_in_force_or_the_next_before_shipping():
    assert period_to_mention(D("2026-10-01"), D("2026-10-14"), [HARVEST]) is HARVEST
    assert period_to_mention(D("2026-09-25"), D("2026-10-13"), [HARVEST]) is HARVEST
    assert period_to_mention(D("2026-09-24"), D("2026-09-25"), [HARVEST]) is None
    assert period_to_mention(D("2026-10-12"), D("2026-10-14"), [HARVEST]) is None


days = st.dates(min_value=D("2025-01-01"), max_value=D("2030-12-31"))


@st.composite
def periods(draw):  # type: ignore[no-untyped-def]
    found = []
    for start in sorted(draw(st.lists(days, max_size=4))):
        found.append(P(start, start + timedelta(days=draw(st.integers(0, 40)))))
    return found


@given(days, st.integers(0, 60), periods())
def test_the_date_is_a_working_day_outside_every_period_and_after_the_preparation(order_day, preparation, spans):
    shipped = expected_shipping_date(order_day, preparation, spans)
    assert shipped.weekday() < 5 and shipped not in public_holidays(shipped.year)
    assert not any(p.starts_on <= shipped <= p.ends_on for p in spans)
    assert shipped >= order_day + timedelta(days=preparation)
    assert is_working_day(shipped, spans)
    # the first working day after exactly ``preparation`` of them (the order day not counted)
    after = sum(is_working_day(order_day + timedelta(days=n), spans) for n in range(1, (shipped - order_day).days + 1))
    if preparation:
        assert after == preparation
    else:
        assert after == (0 if shipped == order_day else 1)
