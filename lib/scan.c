/* One scan of every allow-listed repository on the loop: tags, candidate inspection, verdicts into the store. */
#include "scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "inspect.h"
#include "labels.h"
#include "manifest.h"
#include "select.h"
#include "semver.h"
#include "util.h"

#define SCAN_DEFAULT_PARALLEL 64u
#define SCAN_DEFAULT_DIGEST_MAX_AGE 86400u
#define SCAN_DEFAULT_MAX_INSPECTED 32u

struct job;

struct scan {
        uv_loop_t *loop;
        struct store *store;
        struct registry_client *rc;
        const struct allowlist *allowlist;
        struct scan_settings settings;
        char *api_version;
        char *platform_text;
        struct manifest_platform platform;
        struct semver api;
        unsigned range_flags; /* a pre-release Desktop (a beta) matches as node-semver's includePrerelease */
        scan_event_fn cb;
        void *userdata;

        char **installed; /* pairs, as store_installed_list gives them */
        struct job *jobs;
        size_t next_job;
        size_t running;
        size_t finished;
        uint64_t requests_at_start;
        struct scan_summary summary;
        uv_timer_t *finish_timer; /* delivers FINISHED from the loop when no job is left to do it */
        bool launching;
        bool cancelled;
        bool done;
};

/* One repository's walk: list tags, then inspect candidates newest first until one is compatible,
 * at most max_inspected of them. */
struct job {
        struct scan *scan;
        const struct allowlist_entry *entry;
        const char *installed;
        struct store_record before;

        char **tags;
        struct store_tag *known; /* digests the last scan saw */
        size_t n_known;
        struct select_plan plan;
        size_t cur;
        unsigned inspected;
        bool any_incompatible; /* a version that is well-formed but not for this Desktop */

        struct store_tag *seen; /* digests looked up this scan, by candidate index */
        struct store_verdict *verdicts;
        size_t n_verdicts, verdicts_alloc;
        struct store_record rec;
};

static void scan_launch(struct scan *s);
static void job_walk(struct job *j);

static const char *candidate_tag(const struct job *j) {
        return j->plan.candidates[j->cur].tag;
}

static void job_done(struct job *j) {
        store_record_done(&j->before);
        util_strv_free(j->tags);
        store_tag_array_free(j->known, j->n_known);
        if (j->seen)
                for (size_t i = 0; i < j->plan.n; i++) {
                        free(j->seen[i].tag);
                        free(j->seen[i].digest);
                }
        free(j->seen);
        select_plan_done(&j->plan);
        store_verdict_array_free(j->verdicts, j->n_verdicts);
        store_record_done(&j->rec);
}

static void scan_emit(struct scan *s, enum scan_event_type type, const struct store_record *before,
                      const struct store_record *after) {
        if (!s->cb)
                return;
        struct scan_event e = {.type = type, .summary = &s->summary, .before = before, .after = after};
        s->cb(&e, s->userdata);
}

static unsigned scan_count_updates(struct scan *s) {
        struct store_record *records = NULL;
        size_t n = 0;
        unsigned updates = 0;
        if (store_list_records(s->store, STORE_ORDER_ALLOWLIST, &records, &n) < 0)
                return 0;
        for (size_t i = 0; i < n; i++)
                updates += records[i].update_available;
        store_record_array_free(records, n);
        return updates;
}

static void scan_finish(struct scan *s) {
        struct registry_stats stats;
        registry_client_stats(s->rc, &stats);
        s->summary.requests = (unsigned) (stats.requests - s->requests_at_start);
        s->summary.finished_at = time(NULL);
        s->summary.updates = scan_count_updates(s);
        /* A cancelled scan stays unfinished in the store: the schedule must not take it for a done one. */
        if (!s->cancelled)
                (void) store_scan_finish(s->store, s->summary.id, s->summary.finished_at, s->summary.repositories,
                                         s->summary.updates, s->summary.errors, s->summary.requests);
        s->done = true;
        scan_emit(s, SCAN_EVENT_FINISHED, NULL, NULL);
}

static void on_finish_timer(uv_timer_t *t) {
        struct scan *s = t->data;
        if (!s->done)
                scan_finish(s);
}

/* FINISHED from the loop, for the cases where no job's completion delivers it. */
static void scan_finish_soon(struct scan *s) {
        uv_timer_start(s->finish_timer, on_finish_timer, 0, 0);
}

/* By tag; the tags never seen (NULL) last. */
static int tag_order(const void *a, const void *b) {
        const struct store_tag *x = a, *y = b;
        if (!x->tag || !y->tag)
                return !x->tag - !y->tag;
        return strcmp(x->tag, y->tag);
}

/* Stores what the job found (or its error), reports it, and lets the next repository start. */
static void job_finish(struct job *j, int error, const char *message) {
        struct scan *s = j->scan;
        const char *name = j->entry->repository;
        time_t now = time(NULL);
        int r;

        if (s->cancelled) {
                /* A walk that was cut leaves the stored record as it was. */
        } else if (error == -ECANCELED) {
                s->summary.errors++;
        } else if (error < 0) {
                s->summary.errors++;
                _cleanup_free_ char *fallback = NULL;
                if (!message)
                        message = fallback = util_printf("%s: %s", name, strerror(-error));
                (void) store_put_error(s->store, name, message ? message : name, now);
        } else {
                size_t n_tags = util_strv_length(j->tags);
                struct store_tag *tags = calloc(n_tags ? n_tags : 1, sizeof(struct store_tag));
                if (tags) {
                        for (size_t i = 0; i < n_tags; i++)
                                tags[i].tag = j->tags[i];
                        /* The inspected candidates carry a digest: sorted by tag, each tag finds its own
                         * in log time (a repository may have 100,000 tags). */
                        if (j->seen)
                                qsort(j->seen, j->plan.n, sizeof(struct store_tag), tag_order);
                        for (size_t i = 0; j->seen && i < n_tags; i++) {
                                struct store_tag key = {.tag = tags[i].tag};
                                const struct store_tag *t = bsearch(&key, j->seen, j->plan.n, sizeof(struct store_tag),
                                                                    tag_order);
                                if (t)
                                        tags[i].digest = t->digest;
                        }
                        r = store_put_result(s->store, &j->rec, now, s->summary.id, tags, n_tags, j->verdicts,
                                             j->n_verdicts, STORE_PUT_REPLACE_VERDICTS);
                        free(tags);
                } else
                        r = -ENOMEM;
                if (r < 0) {
                        s->summary.errors++;
                        _cleanup_free_ char *m = util_printf("%s: cannot store the result: %s", name,
                                                             store_error_message(s->store));
                        (void) store_put_error(s->store, name, m ? m : name, now);
                }
        }

        if (!s->cancelled && error != -ECANCELED) {
                struct store_record after = {};
                if (store_get_record(s->store, name, &after) >= 0) {
                        scan_emit(s, SCAN_EVENT_REPOSITORY, &j->before, &after);
                        store_record_done(&after);
                }
        }

        job_done(j);
        s->running--;
        s->finished++;
        if (s->finished == s->summary.repositories || (s->cancelled && s->running == 0))
                scan_finish_soon(s);
        else if (!s->cancelled)
                scan_launch(s);
}

/* A registry answer that arrives for a cancelled scan ends its job, whatever it says. */
static bool job_cut(struct job *j) {
        if (!j->scan->cancelled)
                return false;
        job_finish(j, -ECANCELED, NULL);
        return true;
}

static int job_add_verdict(struct job *j, const char *tag, const char *digest, const char *api, bool compatible,
                           const char *reason) {
        if (j->n_verdicts == j->verdicts_alloc) {
                size_t a = j->verdicts_alloc ? j->verdicts_alloc * 2 : 8;
                struct store_verdict *l = realloc(j->verdicts, a * sizeof(struct store_verdict));
                if (!l)
                        return -ENOMEM;
                j->verdicts = l;
                j->verdicts_alloc = a;
        }
        struct store_verdict *v;
        v = &j->verdicts[j->n_verdicts];
        *v = (struct store_verdict) {
                .tag = strdup(tag),
                .digest = digest ? strdup(digest) : NULL,
                .api_constraint = api ? strdup(api) : NULL,
                .compatible = compatible,
                .reason = strdup(reason),
                .scan_id = j->scan->summary.id,
        };
        j->n_verdicts++;
        if (!v->tag || !v->reason || (digest && !v->digest) || (api && !v->api_constraint))
                return -ENOMEM;
        return 0;
}

static int dup_field(char **field, const char *value) {
        free(*field);
        *field = NULL;
        if (!value)
                return 0;
        *field = strdup(value);
        return *field ? 0 : -ENOMEM;
}

static int job_accept(struct job *j, struct inspect_result *res, const struct extension_labels *labels) {
        struct store_record *rec = &j->rec;
        if (job_add_verdict(j, candidate_tag(j), res->digest, labels->api_version, true, "compatible") < 0 ||
            dup_field(&rec->latest_compatible, candidate_tag(j)) < 0 ||
            dup_field(&rec->title, labels->title) < 0 || dup_field(&rec->vendor, labels->vendor) < 0 ||
            dup_field(&rec->description, labels->description) < 0 ||
            dup_field(&rec->api_constraint, labels->api_version) < 0 || dup_field(&rec->digest, res->digest) < 0 ||
            dup_field(&rec->status, "ok") < 0)
                return -ENOMEM;
        util_strv_free(rec->platforms);
        rec->platforms = TAKE_PTR(res->platforms);
        return 0;
}

/* Why an inspected version does not provide the platform. */
static char *platform_reason(const struct scan *s, const struct inspect_result *res) {
        if (!manifest_kind_is_index(res->kind))
                return util_printf("does not provide %s (the image is %s)", s->platform_text,
                                   res->config_platform ? res->config_platform : "of no platform");
        _cleanup_free_ char *list = NULL;
        for (char **p = res->platforms; p && *p; p++) {
                char *n = util_printf("%s %s", list ? list : "", *p);
                free(list);
                list = n;
                if (!list)
                        return NULL;
        }
        return util_printf("does not provide %s (provides:%s)", s->platform_text, list ? list : " nothing");
}

/* The verdict on the inspected candidate. Returns 1 to go on with the next candidate, 0 when the
 * walk is over (accepted), or a negative errno for the repository. */
static int job_judge(struct job *j, struct inspect_result *res) {
        struct scan *s = j->scan;
        const char *tag = candidate_tag(j);
        int r;

        if (res->digest) {
                struct store_tag *seen = &j->seen[j->cur];
                if (dup_field(&seen->tag, tag) < 0 || dup_field(&seen->digest, res->digest) < 0)
                        return -ENOMEM;
        }
        if (res->error)
                /* Only a broken version gets here: the caller ends the walk on the others. */
                return job_add_verdict(j, tag, res->digest, NULL, false, res->reason) < 0 ? -ENOMEM : 1;

        /* Labels first: the newest version's API constraint is worth knowing even when it is not for
         * this platform. */
        struct extension_labels labels = {};
        if (labels_extract(res->config ? res->config->labels : NULL, &labels) < 0)
                return -ENOMEM;
        if (j->cur == 0 && dup_field(&j->rec.latest_api_constraint, labels.api_version) < 0) {
                labels_done(&labels);
                return -ENOMEM;
        }
        _cleanup_free_ char *reason = NULL;
        const char *missing = labels_missing_required(&labels);
        struct semver_range *range = NULL;
        if (!res->provides_platform) {
                reason = platform_reason(s, res);
                j->any_incompatible = true;
        } else if (labels.api_version_too_long)
                reason = util_printf("label %s is longer than %u bytes", LABELS_API_VERSION, LABELS_MAX_API_VERSION);
        else if (missing)
                reason = strdup(missing);
        else if (semver_range_parse(labels.api_version, s->range_flags, &range) < 0)
                reason = util_printf("label %s: \"%.200s\" is not a valid version range", LABELS_API_VERSION,
                                     labels.api_version);
        else if (!semver_range_test(range, &s->api)) {
                reason = util_printf("needs Extension API \"%.200s\", this Desktop has %s", labels.api_version,
                                     s->api_version);
                j->any_incompatible = true;
        } else {
                r = job_accept(j, res, &labels);
                semver_range_free(range);
                labels_done(&labels);
                return r < 0 ? r : 0;
        }
        semver_range_free(range);
        r = reason ? job_add_verdict(j, tag, res->digest, labels.api_version, false, reason) : -ENOMEM;
        labels_done(&labels);
        return r < 0 ? r : 1;
}

/* The digest the last scans saw for tag; *ret_stale when it is old enough to confirm again. */
static const char *job_known_digest(const struct job *j, const char *tag, bool *ret_stale) {
        unsigned max_age = j->scan->settings.digest_max_age ? j->scan->settings.digest_max_age
                                                             : SCAN_DEFAULT_DIGEST_MAX_AGE;
        struct store_tag key = {.tag = (char *) tag};
        const struct store_tag *t =
                j->known ? bsearch(&key, j->known, j->n_known, sizeof(struct store_tag), tag_order) : NULL;
        time_t verified;
        if (!t || !t->digest || !manifest_digest_valid(t->digest))
                return NULL;
        *ret_stale = !t->verified_at || store_parse_time(t->verified_at, &verified) < 0 ||
                     time(NULL) - verified >= (time_t) max_age;
        return t->digest;
}

/* No version to consider: say why, as a verdict on the nearest miss when there is one. */
static int job_explain_no_versions(struct job *j) {
        struct scan *s = j->scan;
        const char *pinned = j->entry->pinned;
        _cleanup_free_ char *reason = NULL;
        const char *tag = NULL;
        if (pinned) {
                /* "0.2.2" pinned where the registry has "v0.2.2", or the other way round. */
                for (char **t = j->tags; t && *t && !tag; t++)
                        if ((**t == 'v' && streq(*t + 1, pinned)) || (*pinned == 'v' && streq(pinned + 1, *t)))
                                tag = *t;
                /* Verdicts are kept for listed tags only: the near match carries the explanation. */
                if (tag)
                        reason = util_printf("the allow-list pins %s, which the registry does not have: pin %s "
                                             "instead", pinned, tag);
        } else if (!s->settings.include_prerelease) {
                struct semver v;
                for (char **t = j->tags; t && *t && !tag; t++)
                        if (semver_parse(*t, SEMVER_PARSE_ALLOW_V, &v) == 0) {
                                if (semver_is_prerelease(&v))
                                        tag = *t;
                                semver_done(&v);
                        }
                if (tag)
                        reason = util_printf("only pre-release versions such as %s: \"include_prerelease\": true "
                                             "would consider them", tag);
        }
        if (!tag)
                return 0;
        return reason ? job_add_verdict(j, tag, NULL, NULL, false, reason) : -ENOMEM;
}

/* The walk ended without a compatible version: say whether versions exist that this Desktop cannot
 * run, or none is a well-formed extension. */
static void job_conclude(struct job *j) {
        const char *status = j->plan.n == 0 ? "no_versions" : j->any_incompatible ? "incompatible" : "invalid";
        int r = j->plan.n == 0 ? job_explain_no_versions(j) : 0;
        if (r >= 0)
                r = dup_field(&j->rec.status, status);
        job_finish(j, r, NULL);
}

static void job_on_inspected(struct inspect_result *res, void *userdata) {
        struct job *j = userdata;
        if (job_cut(j))
                return;
        if (res->error && !inspect_error_is_version(res->error)) {
                job_finish(j, res->error, res->message);
                return;
        }
        int r = job_judge(j, res);
        if (r <= 0)
                job_finish(j, r, NULL);
        else {
                j->cur++;
                job_walk(j);
        }
}

/* Inspects candidates one after another. Versions the cache answers are judged in this loop,
 * not by recursion: thousands of them take no stack; one that needs the registry continues in
 * job_on_inspected, which calls back here. */
static void job_walk(struct job *j) {
        struct scan *s = j->scan;
        unsigned budget = s->settings.max_inspected ? s->settings.max_inspected : SCAN_DEFAULT_MAX_INSPECTED;
        for (;;) {
                if (j->cur >= j->plan.n) {
                        job_conclude(j);
                        return;
                }
                if (j->inspected >= budget) {
                        _cleanup_free_ char *reason = util_printf(
                                "not inspected: stopped after %u version%s (\"max_inspected_versions\")", budget,
                                budget == 1 ? "" : "s");
                        int r = reason ? job_add_verdict(j, candidate_tag(j), NULL, NULL, false, reason) : -ENOMEM;
                        if (r < 0) {
                                job_finish(j, r, NULL);
                                return;
                        }
                        j->cur = j->plan.n;
                        continue;
                }
                j->inspected++;
                const char *tag = candidate_tag(j);
                bool stale = false;
                const char *known = job_known_digest(j, tag, &stale);
                struct inspect_options o = {
                        .platform = &s->platform,
                        .cache = s->store,
                        .digest = known,
                        /* Version tags are rarely re-pushed: a recently confirmed digest saves the
                         * HEAD, an older one is confirmed (HEADs are free of Docker Hub's pull limit). */
                        .recheck = stale,
                        .labels_anyway = j->cur == 0,
                };
                struct inspect_result res = {};
                int r = inspect_version(s->rc, j->entry->ref.domain, j->entry->ref.path, tag, &o, job_on_inspected,
                                        j, &res);
                if (r == 0)
                        return;
                if (r > 0 && res.error && !inspect_error_is_version(res.error)) {
                        job_finish(j, res.error, res.message);
                        inspect_result_done(&res);
                        return;
                }
                if (r > 0)
                        r = job_judge(j, &res);
                inspect_result_done(&res);
                if (r <= 0) {
                        job_finish(j, r, NULL);
                        return;
                }
                j->cur++;
        }
}

static void on_tags(int error, const char *message, struct registry_tags *result, void *userdata) {
        struct job *j = userdata;
        struct scan *s = j->scan;
        if (job_cut(j))
                return;
        if (error < 0) {
                job_finish(j, error, message);
                return;
        }
        j->tags = TAKE_PTR(result->tags);
        int r = select_plan_build(j->tags, j->entry->pinned, j->installed, s->settings.include_prerelease, &j->plan);
        if (r < 0) {
                job_finish(j, r, NULL);
                return;
        }
        j->seen = calloc(j->plan.n ? j->plan.n : 1, sizeof(struct store_tag));
        if (!j->seen || (j->plan.n > 0 && dup_field(&j->rec.latest, j->plan.candidates[0].tag) < 0)) {
                job_finish(j, -ENOMEM, NULL);
                return;
        }
        job_walk(j);
}

static const char *scan_installed(const struct scan *s, const char *repository) {
        for (char **p = s->installed; p && p[0] && p[1]; p += 2)
                if (streq(p[0], repository))
                        return p[1];
        return NULL;
}

static void job_start(struct job *j) {
        struct scan *s = j->scan;
        const struct allowlist_entry *e = j->entry;
        j->installed = scan_installed(s, e->repository);
        (void) store_get_record(s->store, e->repository, &j->before);
        if (store_get_tags(s->store, e->repository, &j->known, &j->n_known) >= 0 && j->known)
                qsort(j->known, j->n_known, sizeof(struct store_tag), tag_order);
        if (dup_field(&j->rec.repository, e->repository) < 0 || dup_field(&j->rec.pinned, e->pinned) < 0) {
                job_finish(j, -ENOMEM, NULL);
                return;
        }
        int r = registry_list_tags(s->rc, e->ref.domain, e->ref.path, on_tags, j);
        if (r < 0)
                job_finish(j, r, NULL);
}

static void scan_launch(struct scan *s) {
        /* A job that fails at once finishes inside job_start: this loop starts its successor, so
         * the stack stays flat however many fail. */
        if (s->launching)
                return;
        s->launching = true;
        unsigned limit = s->settings.max_parallel ? s->settings.max_parallel : SCAN_DEFAULT_PARALLEL;
        while (s->running < limit && s->next_job < s->allowlist->n) {
                struct job *j = &s->jobs[s->next_job];
                j->scan = s;
                j->entry = &s->allowlist->entries[s->next_job];
                s->next_job++;
                s->running++;
                job_start(j);
        }
        s->launching = false;
}

int scan_start(uv_loop_t *loop, struct store *store, struct registry_client *rc, const struct allowlist *al,
               const struct scan_settings *settings, scan_event_fn cb, void *userdata, struct scan **ret) {
        if (!loop || !store || !rc || !al || !settings || !settings->api_version || !settings->platform || !ret)
                return -EINVAL;

        struct scan *s = calloc(1, sizeof(struct scan));
        if (!s)
                return -ENOMEM;
        s->loop = loop;
        s->store = store;
        s->rc = rc;
        s->allowlist = al;
        s->settings = *settings;
        s->cb = cb;
        s->userdata = userdata;
        s->api_version = strdup(settings->api_version);
        s->platform_text = strdup(settings->platform);
        int r = -ENOMEM;
        if (!s->api_version || !s->platform_text)
                goto fail;
        s->settings.api_version = s->api_version;
        s->settings.platform = s->platform_text;
        r = semver_parse(s->api_version, SEMVER_PARSE_ALLOW_V, &s->api);
        if (r < 0)
                goto fail;
        s->range_flags = semver_is_prerelease(&s->api) ? SEMVER_RANGE_INCLUDE_PRERELEASE : 0;
        r = manifest_platform_parse(s->platform_text, &s->platform);
        if (r < 0) {
                semver_done(&s->api);
                goto fail;
        }

        struct store_repository *repos = calloc(al->n ? al->n : 1, sizeof(struct store_repository));
        if (!repos) {
                r = -ENOMEM;
                goto fail_parsed;
        }
        char **canonical = calloc(al->n + 1, sizeof(char *));
        for (size_t i = 0; canonical && i < al->n; i++) {
                const struct allowlist_entry *e = &al->entries[i];
                canonical[i] = util_printf("%s/%s", e->ref.domain, e->ref.path);
                char *source = util_printf("%s:%u", e->source ? e->source : "", e->line);
                repos[i] = (struct store_repository) {.name = e->repository, .canonical = canonical[i],
                                                      .pinned = e->pinned, .source = source};
        }
        r = canonical ? store_set_repositories(store, repos, al->n, time(NULL)) : -ENOMEM;
        for (size_t i = 0; i < al->n; i++)
                free((char *) repos[i].source);
        free(repos);
        util_strv_free(canonical);
        if (r < 0)
                goto fail_parsed;

        r = store_installed_list(store, &s->installed);
        if (r < 0)
                goto fail_parsed;
        s->jobs = calloc(al->n ? al->n : 1, sizeof(struct job));
        if (!s->jobs) {
                r = -ENOMEM;
                goto fail_parsed;
        }
        for (size_t i = 0; i < al->n; i++) {
                r = registry_client_add_scope(rc, al->entries[i].ref.domain, al->entries[i].ref.path);
                if (r < 0)
                        goto fail_parsed;
        }

        s->summary.started_at = time(NULL);
        s->summary.repositories = (unsigned) al->n;
        r = store_scan_begin(store, s->summary.started_at, &s->summary.id);
        if (r < 0)
                goto fail_parsed;
        struct registry_stats stats;
        registry_client_stats(rc, &stats);
        s->requests_at_start = stats.requests;

        s->finish_timer = malloc(sizeof *s->finish_timer);
        if (!s->finish_timer) {
                r = -ENOMEM;
                goto fail_parsed;
        }
        uv_timer_init(loop, s->finish_timer);
        s->finish_timer->data = s;

        *ret = s;
        scan_emit(s, SCAN_EVENT_STARTED, NULL, NULL);
        if (al->n == 0)
                scan_finish_soon(s);
        else
                scan_launch(s);
        return 0;

fail_parsed:
        semver_done(&s->api);
        manifest_platform_done(&s->platform);
fail:
        util_strv_free(s->installed);
        free(s->jobs);
        free(s->api_version);
        free(s->platform_text);
        free(s);
        return r;
}

const struct scan_summary *scan_get_summary(const struct scan *s) {
        return &s->summary;
}

bool scan_is_finished(const struct scan *s) {
        return s->done;
}

void scan_cancel(struct scan *s) {
        if (!s || s->done || s->cancelled)
                return;
        s->cancelled = true;
        s->summary.cancelled = true;
        s->next_job = s->allowlist->n;
        registry_client_cancel_all(s->rc);
        if (s->running == 0)
                scan_finish_soon(s);
}

static void close_free(uv_handle_t *h) {
        free(h);
}

void scan_free(struct scan *s) {
        if (!s)
                return;
        uv_close((uv_handle_t *) s->finish_timer, close_free);
        semver_done(&s->api);
        manifest_platform_done(&s->platform);
        util_strv_free(s->installed);
        free(s->jobs);
        free(s->api_version);
        free(s->platform_text);
        free(s);
}
