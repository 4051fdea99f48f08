"""Create the tables and a deterministic data set: 10 authors, 12 tags, 60 articles.

Run as ``python -m harness.seed`` (the database must exist and be empty).
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from . import django_env

AUTHORS = [
    "Ada Lovelace",
    "Alan Turing",
    "Grace Hopper",
    "Edsger Dijkstra",
    "Barbara Liskov",
    "Donald Knuth",
    "Margaret Hamilton",
    "Ken Thompson",
    "Frances Allen",
    "John Backus",
]
TAGS = [
    "python",
    "django",
    "databases",
    "caching",
    "performance",
    "web",
    "security",
    "testing",
    "operations",
    "design",
    "history",
    "culture",
]
TEXT = (
    "the cache keeps pages warm while the database answers queries about articles authors "
    "and tags so that readers see fresh content quickly and servers stay calm under load "
    "every write makes a new generation and one render replaces the stale page"
)
WORDS = tuple(TEXT.split())


def sentence(rng: random.Random, words: int) -> str:
    text = " ".join(rng.choice(WORDS) for _ in range(words))
    return text[0].upper() + text[1:] + "."


def seed(articles: int = 60, seed_value: int = 5) -> None:
    from benchsite.models import Article, Author, Tag
    from django.core.management import call_command

    call_command("migrate", run_syncdb=True, verbosity=0, interactive=False)
    rng = random.Random(seed_value)
    authors = Author.objects.bulk_create(
        Author(name=name, bio=sentence(rng, 20)) for name in AUTHORS
    )
    tags = Tag.objects.bulk_create(Tag(name=name, slug=name) for name in TAGS)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    rows = Article.objects.bulk_create(
        Article(
            title=sentence(rng, 6)[:-1],
            slug=f"article-{number}",
            author=rng.choice(authors),
            summary=" ".join(sentence(rng, 12) for _ in range(4)),
            published=start + timedelta(hours=7 * number),
        )
        for number in range(articles)
    )
    through = Article.tags.through
    through.objects.bulk_create(
        through(article_id=article.pk, tag_id=tag.pk)
        for article in rows
        for tag in rng.sample(tags, 3)
    )


if __name__ == "__main__":
    django_env.setup()
    seed()
