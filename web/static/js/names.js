// Names for the ids in cases: district_name / department_name / contractor_name when the item
// has them, else the config's names from GET /api/v1/lookups (loaded once per sign-in), else
// the id itself. English names where the config has them and the UI is in English.
import { api } from './api.js';
import { lang, setTimeZone } from './i18n.js';

const empty = { departments: [], districts: [], cameras: [] };
let tables = empty;
let loading = null;

export function loadLookups() {
  if (!loading) {
    loading = api('/api/v1/lookups').then((r) => { tables = { ...empty, ...r }; setTimeZone(r.time_zone); return tables; })
      .catch(() => { tables = empty; return tables; });
  }
  return loading;
}

export function resetLookups() { tables = empty; loading = null; }

const find = (list, id) => (list || []).find((x) => x.id === id);

function name(list, id, given) {
  const d = find(list, id);
  if (lang() === 'en' && d && d.name_en) return d.name_en;
  return given || (d && d.name) || id || '';
}

export const districtName = (id, item) => name(tables.districts, id, item && item.district_name);
export const departmentName = (id, item) => name(tables.departments, id, item && item.department_name);
export const contractorName = (id, item) => (item && item.contractor_name) || id || '';

export const departments = () => tables.departments;
export const districts = () => tables.districts;

// sourceOf is the case's source as people mean it: a case a camera's event opened by rule is
// a camera case.
export function sourceOf(c) {
  if (c.source === 'rule' && c.device_id && tables.cameras.includes(c.device_id)) return 'camera';
  return c.source;
}
