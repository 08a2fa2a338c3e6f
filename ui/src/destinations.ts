// What the clinic calls each diagnostic center: the engine's `links_list` gives every
// destination's label (its display name, else its configured name); a screen that lists sends
// by destination name shows the label instead.
//
// Must never: hide a destination the engine no longer knows (its name is shown as it is).
import { computed } from 'vue'
import { useBackend } from './session'
import { useLoad } from './load'

export function useDestinationLabels() {
  const links = useLoad(() => useBackend().call('links_list', {}))
  const labels = computed(() => new Map((links.data.value?.links ?? []).map((l) => [l.destination, l.label])))
  /** The label of destination `name`, or the name while the list loads or when it is gone. */
  return (name: string) => labels.value.get(name) ?? name
}
