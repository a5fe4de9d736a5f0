"""Publish stage: categories of articles to Atom, RSS, JSON Feed, HTML and OPML files.

Rendering is a pure function of the articles; every file is written atomically and only
when its bytes change, so unchanged feeds keep their validators. `feeds.publish.site`
does the whole site; this package itself loads only what deciding to publish needs, so
a run that has nothing to publish never loads the renderers.
"""

from feeds.publish.document import Site
from feeds.publish.files import PublishResult
from feeds.publish.layout import ALL_SLUG, PREVIEW, OutputLayout

__all__ = ["ALL_SLUG", "PREVIEW", "OutputLayout", "PublishResult", "Site"]
