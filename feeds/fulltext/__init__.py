"""Full text: for sources with `full_text = true`, each new or changed entry's page is
fetched once and its article text becomes the entry's content (the feed's summary stays).

`fetch` is the edge (robots.txt, the page fetches, what is reused from the store), `extract`
the part that runs in the worker pool (readability-lxml, or the source's CSS selector, then
the sanitiser).
"""
