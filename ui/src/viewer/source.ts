// Where the viewer reads images from: the station's own read-only DICOMweb (issue 16 item 2),
// behind the same login as the rest of the API. The station serves it under this path on its
// HTTP server; in the desktop window that server is on another origin (`__STATION_HTTP__`).
import type { DicomWebSource } from './dicomweb'

/** The one line that says where the station's DICOMweb lives. */
export const STATION_DICOMWEB_PATH = '/dicom-web'

/** `httpBase`: '' on the station's own origin, else `http://127.0.0.1:PORT`. */
export function stationSource(httpBase: string, token: string | null): DicomWebSource {
  return {
    root: `${httpBase.replace(/\/$/, '')}${STATION_DICOMWEB_PATH}`,
    headers: token ? { Authorization: `Bearer ${token}` } : {},
  }
}
