"""Management command that fills the database with demo content."""

import datetime

from django.core.management.base import BaseCommand
from django.db import transaction

from articles.models import Article, Author, Tag

AUTHORS = ["Ada Lovelace", "Alan Turing", "Grace Hopper", "Edsger Dijkstra", "Barbara Liskov"]
TAGS = ["django", "python", "caching", "performance", "databases", "web", "testing", "history"]
SUBJECTS = ["Caching", "Query counts", "Page renders", "Cache keys", "Stale pages"]
ANGLES = ["explained", "in practice", "revisited", "under load"]
SENTENCES = [
    "A page that nobody changed does not need to be rendered again.",
    "Every write to the database may change what a page shows.",
    "Serving a slightly old page at once beats making the reader wait.",
    "The fastest query is the one that is never sent.",
    "Templates that walk relations issue one query per row.",
    "A background render keeps the next reader from paying for the last write.",
]
FIRST_PUBLISHED = datetime.datetime(2024, 1, 1, 9, 0, tzinfo=datetime.UTC)


def article_body(number):
    """Return a few paragraphs of filler text, different for each article number."""
    paragraphs = []
    for paragraph in range(3):
        start = number + paragraph
        picked = [SENTENCES[(start + i) % len(SENTENCES)] for i in range(4)]
        paragraphs.append(" ".join(picked))
    return "\n\n".join(paragraphs)


class Command(BaseCommand):
    """Create the demo authors, tags and articles; content already there is left alone."""

    help = "Create demo authors, tags and articles (idempotent)."

    @transaction.atomic
    def handle(self, *args, **options):
        authors = [Author.objects.get_or_create(name=name)[0] for name in AUTHORS]
        tags = [Tag.objects.get_or_create(name=name)[0] for name in TAGS]
        created = 0
        for number in range(20):
            subject = SUBJECTS[number % len(SUBJECTS)]
            angle = ANGLES[number // len(SUBJECTS)]
            article, is_new = Article.objects.get_or_create(
                title=f"{subject} {angle}",
                defaults={
                    "body": article_body(number),
                    "author": authors[number % len(authors)],
                    "published": FIRST_PUBLISHED + datetime.timedelta(days=7 * number),
                },
            )
            if is_new:
                article.tags.set(tags[number % len(tags) :: 3])
                created += 1
        self.stdout.write(
            f"Demo data ready: {created} article(s) created, {Article.objects.count()} in all."
        )
