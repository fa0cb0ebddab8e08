"""preview_runtime.listening: the listening sockets in /proc/net/tcp and tcp6, as the kernel prints them."""

from __future__ import annotations

from preview_runtime.listening import NOT_FOUND_FOR_S, HomePage, Listener, parse_table

# Lines as Linux prints them (header, then: sl local rem st tx:rx tr:when retrnsmt uid timeout inode ...).
TCP = """  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0 100 0 0 10 0
   1: 00000000:0BB8 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2222 1 0 100 0 0 10 0
   2: 0100007F:1F90 0100007F:D2F0 01 00000000:00000000 00:00000000 00000000     0        0 3333 1 0 20 4 30 10 -1
   3: 0B00007F:A9F3 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0 100 0 0 10 0
"""
TCP6 = """  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when
   0: 00000000000000000000000001000000:1435 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5555 1
   1: 00000000000000000000000000000000:14E9 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 6666 1
   2: 0000000000000000FFFF00000100007F:2328 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 7777 1
"""


def test_listening_sockets_with_their_addresses() -> None:
    assert parse_table(TCP + TCP6) == [
        Listener("127.0.0.1", 8080, 1111),
        Listener("0.0.0.0", 3000, 2222),
        Listener("127.0.0.11", 43507, 4444),
        Listener("::1", 5173, 5555),
        Listener("::", 5353, 6666),
        Listener("127.0.0.1", 9000, 7777),  # an IPv4-mapped address
    ]


def test_where_to_connect() -> None:
    assert Listener("0.0.0.0", 3000).address("172.18.0.5") == "172.18.0.5:3000"
    assert Listener("::", 3000).address("127.0.0.1") == "127.0.0.1:3000"
    assert Listener("::1", 5173).address("127.0.0.1") == "[::1]:5173"
    assert Listener("::1", 5173).loopback_only and Listener("127.0.0.1", 1).loopback_only
    assert not Listener("0.0.0.0", 1).loopback_only


def test_a_404_at_a_front_ends_home_page_is_a_failure_once_it_lasts() -> None:
    home = HomePage(expected=True)
    assert not home.answered(None, 0.0)  # nothing answers yet
    assert not home.answered(404, 10.0)  # a 404 for a moment (a first build finishing) is waited out...
    assert not home.answered(404, 10.0 + NOT_FOUND_FOR_S - 0.1)
    assert home.answered(404, 10.0 + NOT_FOUND_FOR_S)  # ...until it lasts: then it is the answer
    assert home.missing(404)
    assert HomePage(expected=True).answered(200, 0.0) and not home.missing(200)
    assert HomePage(expected=True).answered(500, 0.0) and not home.missing(500)  # an error page the preview shows


def test_an_apis_404_at_its_root_is_an_answer_like_any_other() -> None:
    api = HomePage(expected=False)
    assert api.answered(404, 0.0)
    assert not api.missing(404)
