// The workspace's words: one catalogue per language (locales/<lang>.js), English complete.
// t(key, {name: "Maya"}) fills {name}; a key missing in the agent's language falls back to
// English, and a key missing there shows itself, so a gap is visible rather than blank.
import en from "./locales/en.js";

const SUPPORTED = ["en"];
let active = en;

export async function loadLanguage(preferred = navigator.languages || [navigator.language]) {
  for (const tag of preferred) {
    const lang = String(tag).toLowerCase().split("-")[0];
    if (lang === "en") break;
    if (SUPPORTED.includes(lang)) {
      try {
        active = { ...en, ...(await import(`./locales/${lang}.js`)).default };
        document.documentElement.lang = lang;
      } catch { active = en; }
      return;
    }
  }
  active = en;
}

export function t(key, vars = {}) {
  const text = active[key] ?? en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (whole, name) => (name in vars ? String(vars[name]) : whole));
}

// "1 new offer" / "3 new offers": the catalogue holds key.one and key.other.
export function tn(key, n, vars = {}) {
  const rule = new Intl.PluralRules(document.documentElement.lang || "en").select(n);
  const form = `${key}.${rule}` in active || `${key}.${rule}` in en ? `${key}.${rule}` : `${key}.other`;
  return t(form, { n, ...vars });
}
