/* The desktop the daemon runs on, from the system bus: NetworkManager's metered state and logind's
 * suspend and resume, handed to the service. */
#include "desktop.h"

#include <errno.h>

#include "util.h"

#define NM_NAME "org.freedesktop.NetworkManager"
#define NM_PATH "/org/freedesktop/NetworkManager"
#define LOGIN1_NAME "org.freedesktop.login1"

/* NMMetered: 0 unknown, 1 yes, 2 no, 3 guess-yes, 4 guess-no; NetworkManager advises treating
 * yes and guess-yes as metered. */
enum {
        NM_METERED_YES = 1,
        NM_METERED_GUESS_YES = 3,
};

struct desktop {
        struct service *service;
        struct bus *bus;
        sd_bus_slot *nm_changed;
        sd_bus_slot *nm_owner;
        sd_bus_slot *nm_get;
        sd_bus_slot *sleep;
        bool metered;
};

static void set_metered(struct desktop *d, bool metered) {
        if (metered == d->metered)
                return;
        d->metered = metered;
        service_set_metered(d->service, metered);
}

static void set_metered_value(struct desktop *d, uint32_t value) {
        set_metered(d, value == NM_METERED_YES || value == NM_METERED_GUESS_YES);
}

static int metered_got(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct desktop *d = userdata;
        d->nm_get = sd_bus_slot_unref(d->nm_get);
        uint32_t value;
        /* No NetworkManager (or no answer from it): nothing says the connection is metered. */
        if (sd_bus_message_is_method_error(m, NULL) || sd_bus_message_read(m, "v", "u", &value) < 0) {
                set_metered(d, false);
                return 1;
        }
        set_metered_value(d, value);
        return 1;
}

/* The Get of NetworkManager's Metered property, for both ways of asking. */
static int metered_get_message(struct desktop *d, sd_bus_message **ret) {
        sd_bus_message *m = NULL;
        int r = sd_bus_message_new_method_call(bus_sd(d->bus), &m, NM_NAME, NM_PATH, "org.freedesktop.DBus.Properties",
                                               "Get");
        /* Asking must not start NetworkManager where it is installed but not wanted. */
        if (r >= 0)
                r = sd_bus_message_set_auto_start(m, 0);
        if (r >= 0)
                r = sd_bus_message_append(m, "ss", NM_NAME, "Metered");
        if (r < 0) {
                sd_bus_message_unref(m);
                return r;
        }
        *ret = m;
        return 0;
}

/* At start, before the first scheduled scan can begin: a short blocking Get, so a scan due at
 * start on a metered connection waits from the first moment. */
static void metered_read_now(struct desktop *d) {
        sd_bus_message *m = NULL, *reply = NULL;
        sd_bus_error error = SD_BUS_ERROR_NULL;
        int r = metered_get_message(d, &m);
        if (r >= 0)
                r = sd_bus_call(bus_sd(d->bus), m, 2 * 1000 * 1000, &error, &reply);
        uint32_t value;
        if (r >= 0 && sd_bus_message_read(reply, "v", "u", &value) >= 0)
                set_metered_value(d, value);
        sd_bus_error_free(&error);
        sd_bus_message_unref(reply);
        sd_bus_message_unref(m);
}

static void metered_ask(struct desktop *d) {
        d->nm_get = sd_bus_slot_unref(d->nm_get);
        sd_bus_message *m = NULL;
        int r = metered_get_message(d, &m);
        if (r >= 0)
                r = sd_bus_call_async(bus_sd(d->bus), &d->nm_get, m, metered_got, d, 0);
        sd_bus_message_unref(m);
        if (r < 0)
                set_metered(d, false);
}

static int nm_properties_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct desktop *d = userdata;
        const char *interface;
        if (sd_bus_message_read(m, "s", &interface) < 0 || !streq(interface, NM_NAME))
                return 0;
        if (sd_bus_message_enter_container(m, 'a', "{sv}") < 0)
                return 0;
        while (sd_bus_message_enter_container(m, 'e', "sv") > 0) {
                const char *name;
                if (sd_bus_message_read(m, "s", &name) < 0)
                        return 0;
                uint32_t value;
                if (streq(name, "Metered") && sd_bus_message_read(m, "v", "u", &value) >= 0)
                        set_metered_value(d, value);
                else if (sd_bus_message_skip(m, "v") < 0)
                        return 0;
                if (sd_bus_message_exit_container(m) < 0)
                        return 0;
        }
        if (sd_bus_message_exit_container(m) < 0)
                return 0;
        char **invalidated = NULL;
        if (sd_bus_message_read_strv(m, &invalidated) >= 0 && util_strv_contains(invalidated, "Metered"))
                metered_ask(d);
        util_strv_free(invalidated);
        return 0;
}

static int nm_owner_changed(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct desktop *d = userdata;
        const char *name, *old_owner, *new_owner;
        if (sd_bus_message_read(m, "sss", &name, &old_owner, &new_owner) < 0 || !streq(name, NM_NAME))
                return 0;
        if (*new_owner)
                metered_ask(d);
        else
                set_metered(d, false);
        return 0;
}

static int prepare_for_sleep(sd_bus_message *m, void *userdata, sd_bus_error *ret_error) {
        struct desktop *d = userdata;
        int sleeping;
        if (sd_bus_message_read(m, "b", &sleeping) < 0)
                return 0;
        service_prepare_for_sleep(d->service, sleeping);
        return 0;
}

void desktop_free(struct desktop *d) {
        if (!d)
                return;
        sd_bus_slot_unref(d->nm_changed);
        sd_bus_slot_unref(d->nm_owner);
        sd_bus_slot_unref(d->nm_get);
        sd_bus_slot_unref(d->sleep);
        free(d);
}

int desktop_new(struct service *s, struct bus *system, struct desktop **ret) {
        if (!s || !system || !ret)
                return -EINVAL;
        struct desktop *d = calloc(1, sizeof(*d));
        if (!d)
                return -ENOMEM;
        d->service = s;
        d->bus = system;
        sd_bus *bus = bus_sd(system);
        int r = sd_bus_match_signal_async(bus, &d->nm_changed, NM_NAME, NM_PATH, "org.freedesktop.DBus.Properties",
                                          "PropertiesChanged", nm_properties_changed, NULL, d);
        if (r >= 0)
                r = sd_bus_add_match_async(bus, &d->nm_owner,
                                           "type='signal',sender='org.freedesktop.DBus',path='/org/freedesktop/DBus',"
                                           "interface='org.freedesktop.DBus',member='NameOwnerChanged',"
                                           "arg0='" NM_NAME "'",
                                           nm_owner_changed, NULL, d);
        if (r >= 0)
                r = sd_bus_match_signal_async(bus, &d->sleep, LOGIN1_NAME, "/org/freedesktop/login1",
                                              "org.freedesktop.login1.Manager", "PrepareForSleep", prepare_for_sleep,
                                              NULL, d);
        if (r < 0) {
                desktop_free(d);
                return r;
        }
        /* The matches go out first, so no change falls between them and this answer. */
        metered_read_now(d);
        *ret = d;
        return 0;
}
