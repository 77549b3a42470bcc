/* Desktop notifications of new updates: each (repository, version) once, ever, none lost. */
#include "notify.h"

#include <errno.h>
#include <stdio.h>

#include "log.h"
#include "store.h"
#include "util.h"

#define NOTIFICATIONS_NAME "org.freedesktop.Notifications"

/* Notifications name the desktop entry of what they lead to: updates are installed in Docker
 * Desktop, so shells show its icon and open it. */
#define DESKTOP_ENTRY "docker-desktop"
#define URGENCY_NORMAL 1
/* A first scan can find dozens of updates: the body names this many and counts the rest. */
#define BODY_LINES_MAX 8

struct notify {
        struct service *service;
        struct bus *bus;
        struct service_subscription *sub;
        sd_bus_slot *owner_match;
        sd_bus_slot *call;
        /* What the call in flight shows; marked sent when the server answers. */
        struct store_notification *sending;
        size_t n_sending;
        bool again;       /* asked to send while a call was in flight */
        bool told_absent; /* the missing server was logged; reset when one answers */
};

static void notify_flush(struct notify *n);

/* "Disk usage 0.2.8 is available (installed 0.2.7)". */
static char *line_for(const struct store_notification *e) {
        return util_printf("%s %s is available (installed %s)", e->title && *e->title ? e->title : e->repository,
                           e->version, e->installed ? e->installed : "none");
}

/* Servers may read the body as markup (Desktop Notifications 1.2, "body-markup"). */
static int append_escaped(char **buf, const char *text) {
        for (const char *c = text; *c; c++) {
                const char *add = *c == '&' ? "&amp;" : *c == '<' ? "&lt;" : *c == '>' ? "&gt;" : NULL;
                char *next = add ? util_printf("%s%s", *buf, add) : util_printf("%s%c", *buf, *c);
                if (!next)
                        return -ENOMEM;
                free(*buf);
                *buf = next;
        }
        return 0;
}

/* One notification for all that is pending: a single update is its own summary, several are
 * counted in the summary and named a line each in the body. */
static int compose(const struct store_notification *a, size_t n, char **ret_summary, char **ret_body) {
        _cleanup_free_ char *summary = n == 1 ? line_for(&a[0]) : util_printf("%zu extension updates available", n);
        _cleanup_free_ char *body = strdup("");
        if (!summary || !body)
                return -ENOMEM;
        size_t shown = n > BODY_LINES_MAX ? BODY_LINES_MAX - 1 : n;
        for (size_t i = 0; i < shown; i++) {
                _cleanup_free_ char *line = n == 1 ? util_printf("%s", a[i].repository) : line_for(&a[i]);
                if (!line)
                        return -ENOMEM;
                int r = append_escaped(&body, line);
                if (r >= 0 && i + 1 < shown)
                        r = append_escaped(&body, "\n");
                if (r < 0)
                        return r;
        }
        if (shown < n) {
                _cleanup_free_ char *more = util_printf("\nand %zu more", n - shown);
                int r = more ? append_escaped(&body, more) : -ENOMEM;
                if (r < 0)
                        return r;
        }
        *ret_summary = TAKE_PTR(summary);
        *ret_body = TAKE_PTR(body);
        return 0;
}

static void sending_clear(struct notify *n) {
        store_notification_array_free(n->sending, n->n_sending);
        n->sending = NULL;
        n->n_sending = 0;
}

static int notify_answered(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct notify *n = userdata;
        n->call = sd_bus_slot_unref(n->call);
        const sd_bus_error *e = sd_bus_message_get_error(m);
        if (e) {
                /* Kept pending: sent again when a server appears. */
                if (!n->told_absent) {
                        n->told_absent = true;
                        log_warning("desktop notifications: %s (%s); %zu pending until a notification server "
                                    "appears",
                                    e->message ? e->message : e->name, e->name, n->n_sending);
                }
                sending_clear(n);
                /* A server that appeared while this call failed gets its turn now. */
                if (n->again) {
                        n->again = false;
                        notify_flush(n);
                }
                return 1;
        }
        n->told_absent = false;
        struct store *store = service_store(n->service);
        for (size_t i = 0; i < n->n_sending; i++) {
                int r = store_notification_mark(store, n->sending[i].repository, n->sending[i].version, time(NULL));
                if (r < 0)
                        log_error("desktop notifications: cannot record %s %s as sent: %s",
                                  n->sending[i].repository, n->sending[i].version, store_error_message(store));
        }
        sending_clear(n);
        if (n->again) {
                n->again = false;
                notify_flush(n);
        }
        return 1;
}

/* While notifications are off, what gets decided is settled unseen, so turning them on later
 * does not bring back old news. */
static void settle_unseen(struct notify *n, const struct store_notification *a, size_t count) {
        struct store *store = service_store(n->service);
        for (size_t i = 0; i < count; i++)
                (void) store_notification_mark(store, a[i].repository, a[i].version, time(NULL));
}

static void notify_flush(struct notify *n) {
        if (n->call) {
                n->again = true;
                return;
        }
        struct store *store = service_store(n->service);
        struct store_notification *a = NULL;
        size_t count = 0;
        int r = store_notifications_pending(store, &a, &count);
        if (r < 0) {
                log_error("desktop notifications: cannot read the pending ones: %s", store_error_message(store));
                return;
        }
        if (count == 0) {
                free(a);
                return;
        }
        if (!service_notifications_enabled(n->service)) {
                settle_unseen(n, a, count);
                store_notification_array_free(a, count);
                return;
        }
        _cleanup_free_ char *summary = NULL, *body = NULL;
        r = compose(a, count, &summary, &body);
        sd_bus_message *m = NULL;
        if (r >= 0)
                r = sd_bus_message_new_method_call(bus_sd(n->bus), &m, NOTIFICATIONS_NAME, "/org/freedesktop/Notifications",
                                                   NOTIFICATIONS_NAME, "Notify");
        if (r >= 0)
                r = sd_bus_message_append(m, "susssas", "extupdated", (uint32_t) 0, "system-software-update", summary,
                                          body, 0);
        if (r >= 0)
                r = sd_bus_message_append(m, "a{sv}", 2, "desktop-entry", "s", DESKTOP_ENTRY, "urgency", "y",
                                          (uint8_t) URGENCY_NORMAL);
        if (r >= 0)
                r = sd_bus_message_append(m, "i", (int32_t) -1);
        if (r >= 0)
                r = sd_bus_call_async(bus_sd(n->bus), &n->call, m, notify_answered, n, 0);
        sd_bus_message_unref(m);
        if (r < 0) {
                store_notification_array_free(a, count);
                log_warning("desktop notifications: cannot send: %s", strerror(-r));
                return;
        }
        n->sending = a;
        n->n_sending = count;
}

static int owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct notify *n = userdata;
        const char *name, *old_owner, *new_owner;
        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0)
                return 0;
        if (streq(name, NOTIFICATIONS_NAME) && *new_owner)
                notify_flush(n);
        return 0;
}

static void on_event(const struct service_event *e, void *userdata) {
        if (e->type == SERVICE_EVENT_SCAN_FINISHED)
                notify_flush(userdata);
}

void notify_free(struct notify *n) {
        if (!n)
                return;
        service_unsubscribe(n->sub);
        sd_bus_slot_unref(n->owner_match);
        sd_bus_slot_unref(n->call);
        sending_clear(n);
        free(n);
}

int notify_new(struct service *s, struct bus *session, struct notify **ret) {
        if (!s || !session || !ret)
                return -EINVAL;
        struct notify *n = calloc(1, sizeof(*n));
        if (!n)
                return -ENOMEM;
        n->service = s;
        n->bus = session;
        int r = sd_bus_add_match_async(bus_sd(session), &n->owner_match,
                                       "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                       "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
                                       "arg0='" NOTIFICATIONS_NAME "'",
                                       owner_changed, NULL, n);
        if (r >= 0)
                r = service_subscribe(s, on_event, n, &n->sub);
        if (r < 0) {
                notify_free(n);
                return r;
        }
        /* What an earlier run decided and could not show. */
        notify_flush(n);
        *ret = n;
        return 0;
}
