/* GET /v1/events: the service's events as NDJSON lines, one bounded queue per reader. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "http-server.h"
#include "service.h"

/* What a reader may have queued and unsent before its stream is ended with an error event. */
#define API_EVENTS_QUEUE_MAX (1024u * 1024u)

struct api_events;

int api_events_new(struct http_server *h, size_t queue_max, struct api_events **ret);
/* Ends every stream; their memory goes when MHD is done with their connections. Accepts NULL. */
void api_events_free(struct api_events *e);

/* The streaming response for a new reader on connection c, to queue with status 200. */
struct MHD_Response *api_events_open(struct api_events *e, struct MHD_Connection *c);

/* The event as its NDJSON line ('\\n' included), malloc'd; NULL for events the stream does not carry
 * (status and inventory changes) or on allocation failure. */
char *api_event_line(const struct service_event *ev);
/* Queues the line for every reader; a reader whose queue would pass queue_max gets an error event
 * instead and its stream ends. */
void api_events_publish(struct api_events *e, const char *line);
