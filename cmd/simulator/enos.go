package main

import (
	"flag"

	"github.com/herald-dispatch/herald/providers/enos/enossim"
)

// enosSimulator serves enossim. The app key is -client-id and the app
// secret the common secret; its own flags: -enos-org-id, -enos-token-ttl,
// -enos-http-errors.
func enosSimulator() simulator {
	return simulator{flags: func(fs *flag.FlagSet) func(common) (server, map[string]string) {
		org := fs.String("enos-org-id", enossim.DefaultOrgID, "enos: the OU (orgId) the app may send to")
		ttl := fs.Duration("enos-token-ttl", 0, "enos: access token lifetime (default 7200s)")
		httpErrors := fs.Bool("enos-http-errors", false, "enos: answer errors with a matching HTTP status instead of 200 (undocumented either way)")
		return func(c common) (server, map[string]string) {
			opts := enossim.Options{AppKey: c.clientID, AppSecret: c.clientSecret, OrgID: *org, TokenTTL: *ttl}
			if *httpErrors {
				opts.ErrorStatus = enossim.StatusFor
			}
			appKey := c.clientID
			if appKey == "" {
				appKey = enossim.DefaultAppKey
			}
			return enossim.New(opts), map[string]string{"app_key": appKey, "org_id": *org}
		}
	}}
}
