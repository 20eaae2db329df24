// Optional parts of the conversation panel (call controls, the provider's agent panel).
export async function mountExtensions() {
  return { handle() {}, destroy() {} };
}
