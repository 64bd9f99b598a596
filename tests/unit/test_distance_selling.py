"""The buyer's age (L3342-1) and the destination countries, without a database."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from services import delivery, distance_selling
from services.distance_selling import age_on, birth_date_problem, check_buyer_age, is_adult


@pytest.mark.parametrize(("birth", "day", "age"), [
    pytest.param(date(2008, 6, 15), date(2026, 6, 15), 18, id="18th birthday: 18"),
    pytest.param(date(2008, 6, 16), date(2026, 6, 15), 17, id="the day before the 18th birthday: 17"),
    pytest.param(date(2008, 6, 14), date(2026, 6, 15), 18, id="the day after"),
    pytest.param(date(2008, 2, 29), date(2026, 2, 28), 17, id="born 29 Feb: not yet on 28 Feb of a non-leap year"),
    pytest.param(date(2008, 2, 29), date(2026, 3, 1), 18, id="born 29 Feb: adult on 1 March of a non-leap year"),
    pytest.param(date(2008, 2, 29), date(2028, 2, 29), 20, id="born 29 Feb: on 29 Feb of a leap year"),
    pytest.param(date(2008, 2, 29), date(2028, 2, 28), 19, id="born 29 Feb: 28 Feb of a leap year is the day before"),
    pytest.param(date(2008, 12, 31), date(2026, 1, 1), 17, id="new year's day is not a birthday"),
    pytest.param(date(2000, 1, 1), date(2000, 1, 1), 0, id="born today"),
])
def test_age_is_counted_in_full_years(birth, day, age):
    assert age_on(birth, day) == age
    assert is_adult(birth, day) is (age >= 18)


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)), st.integers(0, 120))
def test_a_birthday_adds_exactly_one_year(birth, years):
    try:
        birthday = birth.replace(year=birth.year + years)
    except ValueError:  # 29 February in a non-leap year: the birthday is 1 March
        birthday = date(birth.year + years, 3, 1)
    assert age_on(birth, birthday) == years
    assert age_on(birth, birthday - timedelta(days=1)) == years - 1


@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)),
       st.dates(min_value=date(1900, 1, 1), max_value=date(2100, 12, 31)))
def test_age_never_decreases_and_matches_the_calendar(birth, day):
    if day < birth:
        return
    age = age_on(birth, day)
    assert age >= 0
    assert age_on(birth, day + timedelta(days=1)) in (age, age + 1)
    # the last birthday is at most a year (366 days) ago
    assert (day.year - birth.year) - age in (0, 1)
    assert is_adult(birth, day) is (age >= 18)


@pytest.mark.parametrize(("birth", "code"), [
    (None, "missing"), (date(2026, 6, 16), "future"), (date(1899, 12, 31), "too_old"),
])
def test_absurd_birth_dates_are_named(birth, code):
    assert birth_date_problem(birth, date(2026, 6, 15)) == code
    with pytest.raises(distance_selling.BirthDateInvalid) as refused:
        check_buyer_age(birth, date(2026, 6, 15))
    assert refused.value.code == code
    assert code in distance_selling.BIRTH_DATE_MESSAGES


def test_a_minor_is_refused_and_an_adult_is_not():
    with pytest.raises(distance_selling.UnderLegalAge):
        check_buyer_age(date(2008, 6, 16), date(2026, 6, 15))
    check_buyer_age(date(2008, 6, 15), date(2026, 6, 15))
    check_buyer_age(date(1900, 1, 1), date(2026, 6, 15))


def test_the_order_date_is_the_paris_date():
    # 23:30 UTC on 14 June is already 15 June in Paris (summer time): the 18th birthday
    assert distance_selling.today_in_paris(datetime(2026, 6, 14, 22, 30, tzinfo=timezone.utc)) == date(2026, 6, 15)
    assert distance_selling.today_in_paris(datetime(2026, 1, 14, 22, 30, tzinfo=timezone.utc)) == date(2026, 1, 14)


def test_the_eu_of_the_destinations_is_the_eu_of_the_shipping_zones():
    assert distance_selling.EU - {"FR"} == delivery.EU_COUNTRIES
    codes = [code for code, _name, _to in distance_selling.DESTINATIONS]
    assert len(codes) == len(set(codes)) and codes[0] == "FR"
    assert {"GB", "CH", "US"} <= set(codes)


def test_destinations_are_parsed_with_france_and_unknown_codes_refused():
    assert distance_selling.parse_destinations([]) == "FR"
    assert distance_selling.parse_destinations(["ch", "BE", "BE"]) == "FR BE CH"
    with pytest.raises(distance_selling.UnknownCountry):
        distance_selling.parse_destinations(["BE", "XX"])
    with pytest.raises(distance_selling.UnknownCountry):
        distance_selling.parse_destinations(["FR; DROP"])
