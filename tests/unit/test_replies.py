"""A response URL is used only while Slack surely takes it: 5 answers, within 25 minutes."""

from datetime import UTC, datetime, timedelta

from bot.application.replies import RESPONSE_URL_AGE, RESPONSE_URL_USES, ResponseUrls

ISSUED = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)


def test_a_response_url_takes_five_answers_counting_those_given_before():
    urls = ResponseUrls()
    takes = [urls.take("https://hooks/1", ISSUED, ISSUED, used_before=1) for _ in range(6)]
    assert takes == [True] * (RESPONSE_URL_USES - 1) + [False, False]
    assert urls.take("https://hooks/2", ISSUED, ISSUED)  # each URL counts its own


def test_a_response_url_is_not_used_once_25_minutes_old():
    urls = ResponseUrls()
    assert urls.take("https://hooks/1", ISSUED, ISSUED + RESPONSE_URL_AGE - timedelta(seconds=1))
    assert not urls.take("https://hooks/1", ISSUED, ISSUED + RESPONSE_URL_AGE)
