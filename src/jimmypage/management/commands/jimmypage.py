"""``manage.py jimmypage``: invalidate pages, read the counters, warm pages, inspect one page.

* ``invalidate [TABLE_OR_MODEL ...]``: make every page stale, or the pages that depend on the
  named models (``app_label.ModelName``) or tables.
* ``stats [--reset] [--json]``: the counters of every process (hits, stale hits, misses...).
* ``warm URL ...`` / ``warm --sitemap [PATH]``: render pages ahead of visitors, as an anonymous
  visitor, through Django's own request handler in this process.
* ``inspect URL [--host HOST[:PORT]] [--user USERNAME] [--language CODE]``: the key of a page,
  and whether its entry exists, is fresh and how old it is, without rendering anything.

The command talks to the cache that ``JIMMY_PAGE_CACHE_ALIAS`` names. A ``LocMemCache`` lives in
one process only: the command then sees (and changes) its own empty cache, not the web server's,
and says so.
"""

from __future__ import annotations

import json
import time
import xml.etree.ElementTree as ElementTree
from collections import Counter

from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.core.management.base import BaseCommand, CommandError
from django.utils import translation

import jimmypage
from jimmypage import conf, generations, stats
from jimmypage.executors import wait_for_refreshes
from jimmypage.inspection import format_stamp, freshness, inspect_page, view_name
from jimmypage.management.notes import assumed_host_note, flush_note
from jimmypage.management.progress import Progress
from jimmypage.management.visitors import (
    Visitor,
    attach_visitor,
    default_language,
    process_local_cache,
    resolve_target,
)

# The counters of ``jimmypage.stats``, with the words the report uses for them.
COUNTER_LABELS = (
    ("hit", "hits"),
    ("stale", "stale hits"),
    ("miss", "misses"),
    ("bypass", "bypasses"),
    ("refreshed", "refreshes"),
    ("refresh_failed", "refresh failures"),
    ("local_hit", "local hits"),
    ("remote_hit", "remote hits"),
    ("invalidation", "invalidations"),
    ("stream_drop", "stream drops"),
)
DEFAULT_SITEMAP = "/sitemap.xml"
REFRESH_WAIT_SECONDS = 60.0


class Command(BaseCommand):
    help = (
        "Manage jimmypage's cached pages: invalidate, stats, warm, inspect. "
        "Run 'manage.py jimmypage VERB --help' for each verb's options."
    )

    def add_arguments(self, parser):
        verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)

        invalidate = verbs.add_parser(
            "invalidate",
            help="Make every page stale, or the pages that depend on some models or tables.",
            description=(
                "Make cached pages stale: they are still served while one refresh renders each "
                "again. Without arguments, every page; with arguments, the pages that depend "
                "on them (in global mode, that is still every page)."
            ),
        )
        invalidate.add_argument(
            "targets",
            nargs="*",
            metavar="TABLE_OR_MODEL",
            help="a model as app_label.ModelName, or a table name",
        )

        stats_parser = verbs.add_parser(
            "stats",
            help="Show the counters of hits, stale hits, misses, bypasses and refreshes.",
            description=(
                "Add this process's counts to the shared totals, then show the totals of every "
                "process that uses the cache."
            ),
        )
        stats_parser.add_argument(
            "--reset", action="store_true", help="set every counter to zero after showing it"
        )
        stats_parser.add_argument("--json", action="store_true", help="print JSON")

        warm = verbs.add_parser(
            "warm",
            help="Render pages ahead of visitors, as an anonymous visitor.",
            description=(
                "Send a GET request for each URL through Django's request handler, in this "
                "process, as an anonymous visitor without cookies; report its status code and "
                "what jimmypage did (miss, hit, stale, bypass). Exits with an error if any URL "
                "answered with a server error (5xx)."
            ),
        )
        warm.add_argument(
            "urls", nargs="*", metavar="URL", help="a path (/about/) or an absolute URL"
        )
        warm.add_argument(
            "--sitemap",
            nargs="?",
            const=DEFAULT_SITEMAP,
            metavar="SITEMAP_URL_PATH",
            help=(
                f"warm every <loc> of this sitemap (default {DEFAULT_SITEMAP}); "
                "a sitemap index is followed one level deep"
            ),
        )
        self.add_request_options(warm)

        inspect = verbs.add_parser(
            "inspect",
            help="Show a page's cache key and entry, without rendering anything.",
            description=(
                "Show the key an anonymous GET of URL gets (or a user's, with --user), whether "
                "an entry exists under it, and its status code, stamp, freshness and age."
            ),
        )
        inspect.add_argument("url", metavar="URL", help="a path (/about/) or an absolute URL")
        inspect.add_argument(
            "--user", metavar="USERNAME", help="inspect the page of this logged-in user"
        )
        inspect.add_argument(
            "--language",
            metavar="CODE",
            help="the request's language (default: what LocaleMiddleware would choose, "
            "else LANGUAGE_CODE)",
        )
        inspect.add_argument("--json", action="store_true", help="print JSON")
        self.add_request_options(inspect)

    @staticmethod
    def add_request_options(parser) -> None:
        parser.add_argument(
            "--host",
            help="the Host header of paths given without a host (default: the first "
            "ALLOWED_HOSTS entry that is not a wildcard, else localhost)",
        )
        parser.add_argument(
            "-H",
            "--header",
            action="append",
            default=[],
            metavar="'NAME: VALUE'",
            help="a request header, e.g. 'Accept-Language: fr' (repeatable)",
        )

    def handle(self, *args, **options):
        verb = options["verb"]
        local = process_local_cache()
        if local and options["verbosity"] > 0:
            self.stderr.write(
                f"Note: the cache {conf.cache_alias()!r} is a {local}, private to each process: "
                "this command sees and changes its own copy only, not the web server's.",
                self.style.WARNING,
            )
        handler = getattr(self, "handle_" + verb)
        handler(options)

    # -- invalidate -------------------------------------------------------------------------

    def handle_invalidate(self, options) -> None:
        targets = options["targets"]
        if not targets:
            jimmypage.invalidate()
            self.stdout.write("Every page is now stale; each is refreshed when next requested.")
            return
        resolved = [resolve_target(target) for target in targets]
        jimmypage.invalidate(*resolved)
        tables = [item if isinstance(item, str) else item._meta.db_table for item in resolved]
        listed = ", ".join(tables)
        unknown = [table for table in tables if table not in generations.known_tables()]
        if not generations.per_table():
            self.stdout.write(
                f"Every page is now stale (global mode: every page depends on {listed})."
            )
        elif unknown:
            self.stdout.write(
                f"Every page is now stale: no installed model has the table(s) "
                f"{', '.join(unknown)}, so no page could have recorded reading them."
            )
        else:
            self.stdout.write(f"The pages that depend on {listed} are now stale.")

    # -- stats ------------------------------------------------------------------------------

    def handle_stats(self, options) -> None:
        stats.flush()
        totals = stats.totals()
        totals["remote_hit"] = max(0, totals["hit"] - totals["local_hit"])
        served = totals["hit"] + totals["stale"] + totals["miss"]
        ratio = (totals["hit"] + totals["stale"]) / served if served else None
        if options["json"]:
            self.stdout.write(json.dumps({**totals, "hit_ratio": ratio}, sort_keys=True))
        else:
            width = max(len(label) for _, label in COUNTER_LABELS)
            for name, label in COUNTER_LABELS:
                self.stdout.write(f"{label:<{width}}  {totals[name]:>10}")
            shown = "n/a" if ratio is None else f"{ratio:.1%}"
            self.stdout.write(f"{'hit ratio':<{width}}  {shown:>10}   (hits + stale) / served")
            self.stdout.write(flush_note())
        if options["reset"]:
            stats.reset()
            if not options["json"]:
                self.stdout.write("Every counter is now zero.")

    # -- warm -------------------------------------------------------------------------------

    def handle_warm(self, options) -> None:
        visitor = Visitor(options["host"], options["header"])
        urls = list(options["urls"])
        if options["sitemap"]:
            urls += self.sitemap_urls(visitor, options["sitemap"])
        urls = list(dict.fromkeys(urls))  # each URL once, in order
        if not urls:
            raise CommandError("Nothing to warm: give URLs, or --sitemap.")
        progress = Progress(self.stdout, len(urls)) if self.stdout.isatty() else None
        seen: Counter = Counter()
        server_errors = 0
        for url in urls:
            if progress:
                progress.show(url)
            started = time.monotonic()
            response = visitor.get(url)
            elapsed = time.monotonic() - started
            if response.streaming:
                response.close()  # its content is not needed
            status = getattr(response, "jimmypage_status", "-")
            seen[status] += 1
            line = f"{response.status_code} {status:<8} {elapsed * 1000:7.0f} ms  {url}"
            style = None
            if response.status_code >= 500:
                server_errors += 1
                style = self.style.ERROR
            elif response.status_code >= 400:
                style = self.style.WARNING
            if progress:
                progress.advance(line, style)
            else:
                self.stdout.write(line, style)
        if progress:
            progress.close()
        # Stale pages started refreshes in this process's threads: let them store their pages.
        if seen["stale"] and not wait_for_refreshes(REFRESH_WAIT_SECONDS):
            self.stderr.write("Some refreshes were still running; their pages may stay stale.")
        stats.flush()  # warming is traffic like any other: the shared counters include it
        summary = ", ".join(
            f"{number} {'without jimmypage status' if status == '-' else status}"
            for status, number in sorted(seen.items())
        )
        self.stdout.write(f"Warmed {len(urls)} URL(s): {summary}.")
        if server_errors:
            raise CommandError(f"{server_errors} URL(s) answered with a server error (5xx).")

    def sitemap_urls(self, visitor: Visitor, url: str) -> list[str]:
        """The URLs a sitemap lists; those of its sitemaps if it is an index (one level)."""
        kind, locations = self.read_sitemap(visitor, url)
        if kind == "urlset":
            return locations
        urls = []
        for nested in locations:
            nested_kind, nested_locations = self.read_sitemap(visitor, nested)
            if nested_kind == "sitemapindex":
                self.stderr.write(
                    f"{nested} is itself a sitemap index: not followed (one level only).",
                    self.style.WARNING,
                )
                continue
            urls += nested_locations
        return urls

    def read_sitemap(self, visitor: Visitor, url: str) -> tuple[str, list[str]]:
        """``("urlset" or "sitemapindex", [every <loc>])`` of the sitemap at ``url``."""
        response = visitor.get(url)
        if response.status_code != 200:
            raise CommandError(f"The sitemap {url} answered with status {response.status_code}.")
        content = b"".join(response.streaming_content) if response.streaming else response.content
        try:
            root = ElementTree.fromstring(content)
        except ElementTree.ParseError as exc:
            raise CommandError(f"The sitemap {url} is not valid XML: {exc}.") from None
        kind = root.tag.rpartition("}")[2]
        if kind not in ("urlset", "sitemapindex"):
            raise CommandError(f"{url} is not a sitemap: its root element is <{kind}>.")
        texts = (loc.text or "" for loc in root.iterfind("{*}*/{*}loc"))
        locations = [text.strip() for text in texts if text.strip()]
        self.stdout.write(f"Sitemap {url}: {len(locations)} <loc>.", self.style.HTTP_INFO)
        return kind, locations

    # -- inspect ----------------------------------------------------------------------------

    def handle_inspect(self, options) -> None:
        visitor = Visitor(options["host"], options["header"])
        request = visitor.request(options["url"])
        user = attach_visitor(request, options["user"])
        language = options["language"] or default_language(request)
        known = {code for code, _ in settings.LANGUAGES}
        if options["language"] and settings.USE_I18N and language not in known:
            self.stderr.write(
                f"Note: {language!r} is not in LANGUAGES; no live request gets it.",
                self.style.WARNING,
            )
        try:
            with translation.override(language):
                report = inspect_page(request)
        except DisallowedHost as exc:
            message = f"{exc} Give --host, or an absolute URL with an allowed host."
            raise CommandError(message) from None
        report["visitor"] = f"user {user.get_username()} (pk {user.pk})" if user else "anonymous"
        report["host"] = request.get_host()
        report["host_assumed"] = visitor.assumed_host(options["url"])
        report["view"] = view_name(request)
        if options["json"]:
            self.stdout.write(json.dumps(report, sort_keys=True, default=str))
            return
        self.write_report(report)

    def write_report(self, report: dict) -> None:
        rows = [("URL", report["url"])]
        if report["host_assumed"]:
            rows.append(("Host", assumed_host_note(report["host"], report["host_assumed"])))
        rows += [
            ("View", report["view"] or "none: no URL pattern matches this path"),
            ("Visitor", report["visitor"]),
            ("Language", report["language"]),
            ("Time zone", report["time_zone"]),
            ("Key", report["key"]),
        ]
        if report["vary"] is not None:
            headers = ", ".join(report["vary"])
            rows += [
                ("Entry", f"a Vary marker: the page varies on {headers}"),
                ("Variant key", report["variant_key"]),
            ]
        entry = report["entry"]
        if entry is None:
            rows.append(("Page", "none: the next request renders and stores it (a miss)"))
        else:
            rows += [
                ("Page", "cached"),
                ("Status code", report["status_code"]),
                ("Content-Type", report["content_type"] or "-"),
                ("Size", f"{report['size']} bytes"),
                ("Stamp", format_stamp(report["stamp"])),
                ("Generation", report["generation"] or "missing: every page is stale"),
                ("Fresh", freshness(report)),
                ("Age", f"{report['age']:.1f} s"),
            ]
        width = max(len(label) for label, _ in rows)
        for label, value in rows:
            self.stdout.write(f"{label:<{width}}  {value}")
