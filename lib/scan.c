/* One scan of every allow-listed repository on the loop: tags, candidate inspection, verdicts into the store. */
#include "scan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "labels.h"
#include "manifest.h"
#include "select.h"
#include "semver.h"
#include "util.h"

#define SCAN_DEFAULT_PARALLEL 64u
#define SCAN_DEFAULT_DIGEST_MAX_AGE 86400u

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

/* One repository's walk: list tags, then inspect candidates newest first until one is compatible. */
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
        bool any_labelled;

        /* The candidate under inspection. */
        char *digest;        /* of the tag's manifest (index or image) */
        char *config_digest; /* of the chosen image's config blob */
        char **platforms;    /* what it provides */
        void (*manifest_next)(struct job *j, const struct manifest *m);
        bool single_image;   /* not an index: its config decides the platform */

        struct store_tag *seen; /* digests looked up this scan, by candidate index */
        struct store_verdict *verdicts;
        size_t n_verdicts;
        struct store_record rec;
};

static void job_next_candidate(struct job *j);
static void scan_launch(struct scan *s);

static const char *candidate_tag(const struct job *j) {
        return j->plan.candidates[j->cur].tag;
}

static void job_clear_candidate(struct job *j) {
        free(j->digest);
        j->digest = NULL;
        free(j->config_digest);
        j->config_digest = NULL;
        util_strv_free(j->platforms);
        j->platforms = NULL;
        j->single_image = false;
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
        job_clear_candidate(j);
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
                        /* Only the few inspected candidates carry a digest: search for those, not per tag. */
                        for (size_t k = 0; j->seen && k < j->plan.n; k++)
                                for (size_t i = 0; j->seen[k].digest && i < n_tags; i++)
                                        if (streq(j->seen[k].tag, tags[i].tag)) {
                                                tags[i].digest = j->seen[k].digest;
                                                break;
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

static int job_add_verdict(struct job *j, const char *api, bool compatible, const char *reason) {
        struct store_verdict *v = realloc(j->verdicts, (j->n_verdicts + 1) * sizeof(struct store_verdict));
        if (!v)
                return -ENOMEM;
        j->verdicts = v;
        v = &j->verdicts[j->n_verdicts];
        *v = (struct store_verdict) {
                .tag = strdup(candidate_tag(j)),
                .digest = j->digest ? strdup(j->digest) : NULL,
                .api_constraint = api ? strdup(api) : NULL,
                .compatible = compatible,
                .reason = strdup(reason),
                .scan_id = j->scan->summary.id,
        };
        j->n_verdicts++;
        if (!v->tag || !v->reason || (j->digest && !v->digest) || (api && !v->api_constraint))
                return -ENOMEM;
        return 0;
}

/* The candidate is not the answer: record why and go on with the next one. */
static void job_reject(struct job *j, const char *api, const char *reason) {
        if (job_add_verdict(j, api, false, reason) < 0) {
                job_finish(j, -ENOMEM, NULL);
                return;
        }
        job_clear_candidate(j);
        j->cur++;
        job_next_candidate(j);
}

static int dup_field(char **field, const char *value) {
        free(*field);
        *field = NULL;
        if (!value)
                return 0;
        *field = strdup(value);
        return *field ? 0 : -ENOMEM;
}

static void job_accept(struct job *j, const struct extension_labels *labels) {
        struct store_record *rec = &j->rec;
        if (job_add_verdict(j, labels->api_version, true, "compatible") < 0 ||
            dup_field(&rec->latest_compatible, candidate_tag(j)) < 0 ||
            dup_field(&rec->title, labels->title) < 0 || dup_field(&rec->vendor, labels->vendor) < 0 ||
            dup_field(&rec->description, labels->description) < 0 ||
            dup_field(&rec->api_constraint, labels->api_version) < 0 || dup_field(&rec->digest, j->digest) < 0) {
                job_finish(j, -ENOMEM, NULL);
                return;
        }
        util_strv_free(rec->platforms);
        rec->platforms = TAKE_PTR(j->platforms);
        rec->status = strdup("ok");
        job_finish(j, rec->status ? 0 : -ENOMEM, NULL);
}

/* The verdict on one candidate once its config (labels, and for a single image its platform) is known. */
static void job_judge(struct job *j, const char *os, const char *arch, const char *variant, const cJSON *labels_json) {
        struct scan *s = j->scan;
        char reason[512];

        if (j->single_image) {
                struct manifest_platform have = {.os = (char *) os, .architecture = (char *) arch,
                                                 .variant = (char *) variant};
                char *normalized = manifest_platform_normalized(&have);
                if (!normalized || util_strv_consume(&j->platforms, normalized) < 0) {
                        job_finish(j, -ENOMEM, NULL);
                        return;
                }
                if (manifest_platform_match(&s->platform, &have) == 0) {
                        snprintf(reason, sizeof reason, "does not provide %s (the image is %s)", s->platform_text,
                                 j->platforms[0]);
                        job_reject(j, NULL, reason);
                        return;
                }
        }

        struct extension_labels labels = {};
        if (labels_extract(labels_json, &labels) < 0) {
                job_finish(j, -ENOMEM, NULL);
                return;
        }
        if (j->cur == 0 && dup_field(&j->rec.latest_api_constraint, labels.api_version) < 0) {
                labels_done(&labels);
                job_finish(j, -ENOMEM, NULL);
                return;
        }

        const char *missing = labels_missing_required(&labels);
        if (missing) {
                job_reject(j, labels.api_version, missing);
                labels_done(&labels);
                return;
        }
        j->any_labelled = true;

        struct semver_range *range = NULL;
        if (semver_range_parse(labels.api_version, 0, &range) < 0) {
                snprintf(reason, sizeof reason, "invalid Extension API range \"%.200s\"", labels.api_version);
                job_reject(j, labels.api_version, reason);
        } else if (!semver_range_test(range, &s->api)) {
                snprintf(reason, sizeof reason, "needs Extension API \"%.200s\", this Desktop has %s",
                         labels.api_version, s->api_version);
                job_reject(j, labels.api_version, reason);
        } else
                job_accept(j, &labels);
        semver_range_free(range);
        labels_done(&labels);
}

static void on_config_fetched(int error, const char *message, struct registry_config *result, void *userdata) {
        struct job *j = userdata;
        if (job_cut(j))
                return;
        if (error < 0) {
                job_finish(j, error, message);
                return;
        }
        const struct manifest_image_config *cfg = result->config;
        const struct manifest_platform *p = &cfg->platform;
        _cleanup_free_ char *labels = cfg->labels ? cJSON_PrintUnformatted(cfg->labels) : strdup("{}");
        struct store_config sc = {.os = p->os, .architecture = p->architecture, .variant = p->variant,
                                  .labels = labels};
        if (!labels) {
                job_finish(j, -ENOMEM, NULL);
                return;
        }
        /* A config we cannot cache is fetched again next time; the verdict stands either way. */
        (void) store_put_config(j->scan->store, j->config_digest, &sc, time(NULL));
        job_judge(j, p->os, p->architecture, p->variant, cfg->labels);
}

static void job_load_config(struct job *j, const char *config_digest) {
        struct scan *s = j->scan;
        struct store_config sc = {};
        free(j->config_digest);
        j->config_digest = strdup(config_digest);
        if (!j->config_digest) {
                job_finish(j, -ENOMEM, NULL);
                return;
        }
        int r = store_get_config(s->store, config_digest, &sc);
        if (r > 0) {
                cJSON *labels = sc.labels ? cJSON_Parse(sc.labels) : NULL;
                job_judge(j, sc.os, sc.architecture, sc.variant, labels);
                cJSON_Delete(labels);
                store_config_done(&sc);
                return;
        }
        r = registry_get_config(s->rc, j->entry->ref.domain, j->entry->ref.path, config_digest, on_config_fetched, j);
        if (r < 0)
                job_finish(j, r, NULL);
}

static void on_manifest_fetched(int error, const char *message, struct registry_manifest *res, void *userdata) {
        struct job *j = userdata;
        if (job_cut(j))
                return;
        if (error < 0) {
                job_finish(j, error, message);
                return;
        }
        /* Content-addressed and verified: never fetched again once stored. */
        (void) store_put_manifest(j->scan->store, res->digest, res->manifest->media_type, res->body, res->body_len,
                                  time(NULL));
        j->manifest_next(j, res->manifest);
}

/* Calls next with the manifest of digest, from the store when it is there, else from the registry. */
static void job_load_manifest(struct job *j, const char *digest, void (*next)(struct job *j, const struct manifest *m)) {
        struct scan *s = j->scan;
        _cleanup_free_ char *media_type = NULL;
        _cleanup_free_ void *body = NULL;
        size_t len = 0;
        if (store_get_manifest(s->store, digest, &media_type, &body, &len) > 0) {
                struct manifest *m = NULL;
                if (manifest_parse(body, len, media_type, &m, NULL) == 0) {
                        next(j, m);
                        manifest_free(m);
                        return;
                }
                /* A stored body this build cannot parse is fetched again rather than trusted. */
        }
        j->manifest_next = next;
        int r = registry_get_manifest(s->rc, j->entry->ref.domain, j->entry->ref.path, digest, on_manifest_fetched, j);
        if (r < 0)
                job_finish(j, r, NULL);
}

static void job_use_image_manifest(struct job *j, const struct manifest *m) {
        if (manifest_is_index(m)) {
                job_reject(j, NULL, "an index nested in an index is not supported");
                return;
        }
        job_load_config(j, m->config.digest);
}

static void job_use_manifest(struct job *j, const struct manifest *m) {
        struct scan *s = j->scan;
        if (!manifest_is_index(m)) {
                j->single_image = true;
                job_use_image_manifest(j, m);
                return;
        }
        if (manifest_platforms(m, &j->platforms) < 0) {
                job_finish(j, -ENOMEM, NULL);
                return;
        }
        const struct manifest_descriptor *d = manifest_select(m, &s->platform);
        if (!d) {
                char reason[512];
                size_t off = (size_t) snprintf(reason, sizeof reason, "does not provide %s (provides:", s->platform_text);
                for (char **p = j->platforms; p && *p && off < sizeof reason; p++)
                        off += (size_t) snprintf(reason + off, sizeof reason - off, " %s", *p);
                if (off < sizeof reason)
                        snprintf(reason + off, sizeof reason - off, "%s)", j->platforms && *j->platforms ? "" : " nothing");
                job_reject(j, NULL, reason);
                return;
        }
        _cleanup_free_ char *image = strdup(d->digest);
        if (!image) {
                job_finish(j, -ENOMEM, NULL);
                return;
        }
        job_load_manifest(j, image, job_use_image_manifest);
}

static int job_remember_digest(struct job *j, const char *digest) {
        struct store_tag *seen = &j->seen[j->cur];
        free(seen->tag);
        free(seen->digest);
        seen->tag = strdup(candidate_tag(j));
        seen->digest = strdup(digest);
        j->digest = strdup(digest);
        return seen->tag && seen->digest && j->digest ? 0 : -ENOMEM;
}

static void on_head(int error, const char *message, struct registry_manifest_info *info, void *userdata) {
        struct job *j = userdata;
        if (job_cut(j))
                return;
        if (error == -ENOENT) {
                /* Deleted between the tag listing and now: not a failure of the repository. */
                job_reject(j, NULL, "the tag is listed but has no manifest");
                return;
        }
        if (error < 0) {
                job_finish(j, error, message);
                return;
        }
        if (job_remember_digest(j, info->digest) < 0) {
                job_finish(j, -ENOMEM, NULL);
                return;
        }
        job_load_manifest(j, j->digest, job_use_manifest);
}

/* The digest the registry confirmed for tag recently enough to trust without asking again. */
static const char *job_known_digest(const struct job *j, const char *tag) {
        unsigned max_age = j->scan->settings.digest_max_age ? j->scan->settings.digest_max_age
                                                             : SCAN_DEFAULT_DIGEST_MAX_AGE;
        for (size_t i = 0; i < j->n_known; i++) {
                const struct store_tag *t = &j->known[i];
                time_t verified;
                if (!streq(t->tag, tag))
                        continue;
                if (!t->digest || !t->verified_at || store_parse_time(t->verified_at, &verified) < 0)
                        return NULL;
                return time(NULL) - verified < (time_t) max_age ? t->digest : NULL;
        }
        return NULL;
}

/* No candidate is compatible: say whether versions exist that this Desktop cannot run, or none carries the labels. */
static void job_conclude(struct job *j) {
        const char *status;
        if (j->plan.n == 0)
                status = "no_versions";
        else if (j->any_labelled || j->n_verdicts == 0)
                status = "incompatible";
        else {
                bool all_unlabelled = true;
                for (size_t i = 0; i < j->n_verdicts; i++)
                        if (!util_startswith(j->verdicts[i].reason, "missing label"))
                                all_unlabelled = false;
                status = all_unlabelled ? "invalid" : "incompatible";
        }
        j->rec.status = strdup(status);
        job_finish(j, j->rec.status ? 0 : -ENOMEM, NULL);
}

static void job_next_candidate(struct job *j) {
        struct scan *s = j->scan;
        if (j->cur >= j->plan.n || (j->plan.candidates[j->cur].below_installed && j->inspected > 0)) {
                job_conclude(j);
                return;
        }
        j->inspected++;
        const char *tag = candidate_tag(j);
        const char *known = job_known_digest(j, tag);
        if (known) {
                /* Version tags are rarely re-pushed: a recently confirmed digest saves the HEAD, and an
                 * older one is confirmed again (HEADs are free of Docker Hub's pull limit). */
                j->digest = strdup(known);
                if (!j->digest) {
                        job_finish(j, -ENOMEM, NULL);
                        return;
                }
                job_load_manifest(j, j->digest, job_use_manifest);
                return;
        }
        int r = registry_head_manifest(s->rc, j->entry->ref.domain, j->entry->ref.path, tag, on_head, j);
        if (r < 0)
                job_finish(j, r, NULL);
}

static void on_tags(int error, const char *message, struct registry_tags *result, void *userdata) {
        struct job *j = userdata;
        if (job_cut(j))
                return;
        struct scan *s = j->scan;
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
        job_next_candidate(j);
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
        (void) store_get_tags(s->store, e->repository, &j->known, &j->n_known);
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
