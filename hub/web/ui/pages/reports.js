// The reports page (placeholder: being written).
import { html } from '../vendor/lib.js';

export function Reports() { return html`<h2>Reports</h2>`; }
