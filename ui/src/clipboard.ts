// Copying a text for the user. A LAN browser on plain http has no clipboard API: the caller
// says so, and the text stays selectable on the page.
export async function copyText(text: string): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text)
    return true
  } catch {
    return false
  }
}
