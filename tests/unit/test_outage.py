"""How long a request waits for a database that is away
(bulletin/runtime/pool.py): until the outage, not the request, is
DB_CONNECT_WAIT old."""

from bulletin.runtime.pool import Outage


def test_an_outage_is_waited_for_from_its_start_not_each_request():
    outage = Outage(wait=10)
    assert outage.deadline(now=100) == 110  # all up: a first failure may wait in full
    outage.failed(now=100)
    outage.failed(now=104)
    assert outage.deadline(now=104) == 110  # a request in the same outage: what is left
    outage.failed(now=111)
    assert outage.deadline(now=111) == 111  # away longer than the wait: answer at once


def test_failures_far_apart_are_separate_outages():
    outage = Outage(wait=10)
    outage.failed(now=100)
    # No request for a while (nobody tried): the next failure starts a new outage.
    assert outage.deadline(now=200) == 210
    outage.failed(now=200)
    assert outage.deadline(now=205) == 210


def test_a_connection_made_ends_the_outage():
    outage = Outage(wait=10)
    outage.failed(now=100)
    outage.failed(now=109)
    outage.ended()
    assert outage.deadline(now=109.5) == 119.5
