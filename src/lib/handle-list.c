/* libvireo's list calls share this: GET a JSON array and make a handle of each
 * element, giving the caller a NULL-terminated array (all or nothing). */
#include <stdio.h>
#include <stdlib.h>

#include "lib/libvireo-internal.h"

int vireo_list_handles(vireo_conn *conn, const char *url, const char *what, vireo_handle_from_json make,
		       void (*free_one)(void *), void *opaque, void ***out)
{
	json_object *arr = vireo_call_json(conn, "GET", url, NULL, NULL, 0);
	void **list;
	size_t n;

	if (!arr)
		return -1;
	if (!json_object_is_type(arr, json_type_array)) {
		char msg[96];
		json_object_put(arr);
		snprintf(msg, sizeof(msg), "%s is not an array", what);
		vireo_set_error(VIREO_ERR_PROTOCOL, 200, "protocol", msg);
		return -1;
	}
	n = json_object_array_length(arr);
	list = calloc(n + 1, sizeof(*list));
	if (!list) {
		json_object_put(arr);
		vireo_set_error(VIREO_ERR_NO_MEMORY, 0, "no-memory", "out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		list[i] = make(conn, json_object_array_get_idx(arr, i), opaque);
		if (!list[i]) {
			for (size_t k = 0; k < i; k++)
				free_one(list[k]);
			free(list);
			json_object_put(arr);
			return -1;
		}
	}
	json_object_put(arr);
	*out = list;
	return (int)n;
}
