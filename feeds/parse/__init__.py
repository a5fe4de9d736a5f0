"""The parse stage: feed bodies (RSS, RDF, Atom, JSON Feed) to `RawFeed`s.

Pure CPU work with no I/O, meant to run in worker processes::

    from feeds.parse import ParseError, parse_feed

    try:
        raw = parse_feed(body, url=final_url, headers=response.headers)
    except ParseError as error:
        ...  # str(error) says what is wrong with the body
"""

from feeds.parse.feed import ParseError, parse_feed

__all__ = ["ParseError", "parse_feed"]
