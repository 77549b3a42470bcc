/* io.extupdated.Daemon1 on the session bus: the service's entry points as methods, its status as
 * properties, its events as signals. */
#include "dbus.h"

#include <errno.h>
#include <stdio.h>

#include "log.h"
#include "store.h"
#include "util.h"

struct dbus {
        struct service *service;
        struct bus *bus;
        sd_bus_slot *object;
        sd_bus_slot *name;
        struct service_subscription *sub;
        /* What the properties showed last, to announce only what changed. */
        bool scanning;
        uint64_t last_scan;
        uint32_t update_count;
        char *api_version;
};

static uint64_t last_scan_usec(const struct service_status *st) {
        time_t t;
        if (!st->has_last_scan || store_parse_time(st->last_scan.finished_at, &t) < 0 || t < 0)
                return 0;
        return (uint64_t) t * 1000000u;
}

static int method_scan(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct dbus *d = userdata;
        int r = service_scan_now(d->service, SERVICE_ORIGIN_USER, NULL);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "cannot start a scan: %s", strerror(-r));
        return sd_bus_reply_method_return(m, "");
}

static int method_list_updates(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct dbus *d = userdata;
        struct store_record *recs = NULL;
        size_t n = 0;
        int r = store_list_records(service_store(d->service), STORE_ORDER_NAME, &recs, &n);
        if (r < 0)
                return sd_bus_error_set_errnof(error, r, "cannot read the state: %s",
                                               store_error_message(service_store(d->service)));
        sd_bus_message *reply = NULL;
        r = sd_bus_message_new_method_return(m, &reply);
        if (r >= 0)
                r = sd_bus_message_open_container(reply, 'a', "(ssss)");
        for (size_t i = 0; r >= 0 && i < n; i++)
                if (recs[i].update_available)
                        r = sd_bus_message_append(reply, "(ssss)", recs[i].repository, recs[i].installed,
                                                  recs[i].latest_compatible, recs[i].title ? recs[i].title : "");
        if (r >= 0)
                r = sd_bus_message_close_container(reply);
        if (r >= 0)
                r = sd_bus_send(NULL, reply, NULL);
        sd_bus_message_unref(reply);
        store_record_array_free(recs, n);
        return r;
}

/* Maps an inventory entry point's failure to the D-Bus error a caller can act on. */
static int inventory_error(sd_bus_error *error, int r, const char *message, const char *repository) {
        switch (r) {
        case -EINVAL:
                return sd_bus_error_set(error, SD_BUS_ERROR_INVALID_ARGS, message ? message : "invalid argument");
        case -ENOENT:
                return sd_bus_error_setf(error, SD_BUS_ERROR_INVALID_ARGS, "%s",
                                         message ? message : "that repository is not installed");
        case -EPERM:
                return sd_bus_error_setf(error, SD_BUS_ERROR_NOT_SUPPORTED, "%s",
                                         message ? message
                                                 : "the inventory comes from \"docker extension ls\" "
                                                   "(installed_source is \"docker\")");
        default:
                return sd_bus_error_set_errnof(error, r, "cannot change the inventory for %s: %s", repository,
                                               message ? message : strerror(-r));
        }
}

static int method_set_installed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct dbus *d = userdata;
        const char *repository, *version;
        int r = sd_bus_message_read(m, "ss", &repository, &version);
        if (r < 0)
                return r;
        _cleanup_free_ char *message = NULL;
        r = service_set_installed(d->service, repository, version, &message);
        if (r < 0)
                return inventory_error(error, r, message, repository);
        return sd_bus_reply_method_return(m, "");
}

static int method_remove_installed(sd_bus_message *m, void *userdata, sd_bus_error *error) {
        struct dbus *d = userdata;
        const char *repository;
        int r = sd_bus_message_read(m, "s", &repository);
        if (r < 0)
                return r;
        _cleanup_free_ char *message = NULL;
        r = service_remove_installed(d->service, repository, &message);
        if (r == -ENOENT && !message)
                message = util_printf("%s is not installed", repository);
        if (r < 0)
                return inventory_error(error, r, message, repository);
        return sd_bus_reply_method_return(m, "");
}

static int property_get(sd_bus *bus, const char *path, const char *interface, const char *property,
                        sd_bus_message *reply, void *userdata, sd_bus_error *error) {
        struct dbus *d = userdata;
        struct service_status st;
        service_get_status(d->service, &st);
        if (streq(property, "State"))
                return sd_bus_message_append(reply, "s", st.scanning ? "scanning" : "idle");
        if (streq(property, "LastScan"))
                return sd_bus_message_append(reply, "t", last_scan_usec(&st));
        if (streq(property, "UpdateCount"))
                return sd_bus_message_append(reply, "u", (uint32_t) st.updates);
        return sd_bus_message_append(reply, "s", st.extension_api_version ? st.extension_api_version : "");
}

static const sd_bus_vtable daemon1_vtable[] = {
        SD_BUS_VTABLE_START(0),
        SD_BUS_METHOD("Scan", "", "", method_scan, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("ListUpdates", "", , "a(ssss)", SD_BUS_PARAM(updates), method_list_updates,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("SetInstalled", "ss", SD_BUS_PARAM(repository) SD_BUS_PARAM(version), "", ,
                                 method_set_installed, SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_METHOD_WITH_NAMES("RemoveInstalled", "s", SD_BUS_PARAM(repository), "", , method_remove_installed,
                                 SD_BUS_VTABLE_UNPRIVILEGED),
        SD_BUS_PROPERTY("State", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("LastScan", "t", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("UpdateCount", "u", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_PROPERTY("ExtensionApiVersion", "s", property_get, 0, SD_BUS_VTABLE_PROPERTY_EMITS_CHANGE),
        SD_BUS_SIGNAL_WITH_NAMES("UpdateAvailable", "ssss",
                                 SD_BUS_PARAM(repository) SD_BUS_PARAM(installed) SD_BUS_PARAM(available)
                                         SD_BUS_PARAM(title),
                                 0),
        SD_BUS_SIGNAL_WITH_NAMES("ScanFinished", "uuu",
                                 SD_BUS_PARAM(repositories) SD_BUS_PARAM(updates) SD_BUS_PARAM(errors), 0),
        SD_BUS_VTABLE_END,
};

/* Announces the properties whose values moved since the last announcement. */
static void properties_update(struct dbus *d) {
        struct service_status st;
        service_get_status(d->service, &st);
        const char *changed[5];
        size_t n = 0;
        if (st.scanning != d->scanning) {
                d->scanning = st.scanning;
                changed[n++] = "State";
        }
        uint64_t last = last_scan_usec(&st);
        if (last != d->last_scan) {
                d->last_scan = last;
                changed[n++] = "LastScan";
        }
        if (st.updates != d->update_count) {
                d->update_count = st.updates;
                changed[n++] = "UpdateCount";
        }
        const char *api = st.extension_api_version ? st.extension_api_version : "";
        if (!streq_ptr(api, d->api_version)) {
                char *copy = strdup(api);
                if (copy) {
                        free(d->api_version);
                        d->api_version = copy;
                        changed[n++] = "ExtensionApiVersion";
                }
        }
        changed[n] = NULL;
        if (n > 0)
                (void) sd_bus_emit_properties_changed_strv(bus_sd(d->bus), DBUS_PATH, DBUS_INTERFACE,
                                                           (char **) changed);
}

static void on_event(const struct service_event *e, void *userdata) {
        struct dbus *d = userdata;
        sd_bus *bus = bus_sd(d->bus);
        if (e->type == SERVICE_EVENT_UPDATE_AVAILABLE && e->after) {
                const struct store_record *a = e->after;
                (void) sd_bus_emit_signal(bus, DBUS_PATH, DBUS_INTERFACE, "UpdateAvailable", "ssss", a->repository,
                                          a->installed ? a->installed : "",
                                          a->latest_compatible ? a->latest_compatible : "",
                                          a->title ? a->title : "");
        }
        /* Properties first, so a ScanFinished listener reading them sees the finished state. */
        properties_update(d);
        if (e->type == SERVICE_EVENT_SCAN_FINISHED && e->summary && !e->cancelled)
                (void) sd_bus_emit_signal(bus, DBUS_PATH, DBUS_INTERFACE, "ScanFinished", "uuu",
                                          e->summary->repositories, e->summary->updates, e->summary->errors);
}

static int name_acquired(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        const sd_bus_error *e = sd_bus_message_get_error(m);
        if (e)
                log_warning("cannot own %s on the session bus: %s", DBUS_NAME, e->message ? e->message : e->name);
        return 1;
}

void dbus_free(struct dbus *d) {
        if (!d)
                return;
        service_unsubscribe(d->sub);
        sd_bus_slot_unref(d->name);
        sd_bus_slot_unref(d->object);
        free(d->api_version);
        free(d);
}

int dbus_new(struct service *s, struct bus *session, struct dbus **ret) {
        if (!s || !session || !ret)
                return -EINVAL;
        struct dbus *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->service = s;
        d->bus = session;
        struct service_status st;
        service_get_status(s, &st);
        d->scanning = st.scanning;
        d->last_scan = last_scan_usec(&st);
        d->update_count = st.updates;
        d->api_version = strdup(st.extension_api_version ? st.extension_api_version : "");
        int r = d->api_version ? 0 : -ENOMEM;
        if (r >= 0)
                r = sd_bus_add_object_vtable(bus_sd(session), &d->object, DBUS_PATH, DBUS_INTERFACE, daemon1_vtable, d);
        if (r >= 0)
                r = service_subscribe(s, on_event, d, &d->sub);
        /* Not queued behind another owner: a second daemon must not take over silently. */
        if (r >= 0)
                r = sd_bus_request_name_async(bus_sd(session), &d->name, DBUS_NAME, 0, name_acquired, d);
        if (r < 0) {
                dbus_free(d);
                return r;
        }
        *ret = d;
        return 0;
}
