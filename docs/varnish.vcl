# Varnish in front of a nunjucks-fragment-cache app: pages are cached by their Cache-Control
# (s-maxage), tagged by the `xkey` response header the app sets (edge: 'varnish'), and purged by
# tag with `PURGE` + `xkey-purge: <keys>` (createVarnishPurger). Used by test/edge/varnish.test.ts
# and scripts/behind-varnish.sh, which rewrite the backend port below.
vcl 4.1;

import xkey;

backend app {
  .host = "127.0.0.1";
  .port = "3000";
}

# Only the app's own host may purge.
acl purgers {
  "127.0.0.1";
  "::1";
}

sub vcl_recv {
  if (req.method == "PURGE") {
    if (client.ip !~ purgers) {
      return (synth(403, "Forbidden"));
    }
    if (req.http.xkey-purge) {
      set req.http.n-gone = xkey.purge(req.http.xkey-purge);
      return (synth(200, "Invalidated " + req.http.n-gone + " objects"));
    }
    return (synth(400, "PURGE needs an xkey-purge header"));
  }
}

sub vcl_deliver {
  # The tags are for Varnish only; clients need not see them.
  unset resp.http.xkey;
  if (obj.hits > 0) {
    set resp.http.X-Edge = "HIT";
  } else {
    set resp.http.X-Edge = "MISS";
  }
}
