# Varnish in front of a site that uses django-jimmypage: plain VCL 4.1, no vmod (Varnish 6 or 7;
# tested with Debian's 7.1 by tests/live/test_http.py).
#
# jimmypage tells Varnish how long it may keep each page (Cache-Control, from the setting
# JIMMY_PAGE_DOWNSTREAM_CACHE_CONTROL: use s-maxage) and, when a write makes pages stale, which
# ones to drop: with JIMMY_PAGE_PURGE_URLS = ["http://<this varnish>/"], every page carries its
# ban keys in an `xkey` header (JIMMY_PAGE_PURGE_KEY_HEADER; rename it below too if you change
# it) and each write sends one request
#
#     BAN / HTTP/1.1
#     X-Jimmy-Page-Ban: key1|key2
#
# which bans every object whose key header holds one of the keys. The ban tests object headers
# only, so Varnish's ban lurker also clears the objects nobody asks for.
#
# Everything else is Varnish's built-in VCL, which runs after these subroutines: requests with a
# Cookie or an Authorization header go to Django (their pages are per visitor), and so do
# responses that are private, no-cache or set cookies.

vcl 4.1;

# The Django site (gunicorn, uwsgi...). Change to your own.
backend default {
    .host = "127.0.0.1";
    .port = "8000";
}

# Who may ban: the web servers that run Django.
acl jimmypage_purgers {
    "127.0.0.1";
    "::1";
}

sub vcl_recv {
    if (req.method == "BAN") {
        if (client.ip !~ jimmypage_purgers) {
            return (synth(405, "Not allowed"));
        }
        # Keys are letters, digits and dashes, separated by "|": nothing else reaches ban().
        if (req.http.X-Jimmy-Page-Ban !~ "^[A-Za-z0-9-]+(\|[A-Za-z0-9-]+)*$") {
            return (synth(400, "Bad X-Jimmy-Page-Ban"));
        }
        ban("obj.http.xkey ~ (^|[[:space:]])(" + req.http.X-Jimmy-Page-Ban + ")([[:space:]]|$)");
        return (synth(200, "Banned"));
    }
}

sub vcl_backend_response {
    # Keep an expired page a while, so that Varnish asks Django with If-None-Match and gets a
    # 304 (headers only) when the page has not changed.
    set beresp.keep = 1h;
}

sub vcl_deliver {
    # The ban keys are for this cache only.
    unset resp.http.xkey;
}
