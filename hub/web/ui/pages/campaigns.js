// The campaigns page (placeholder: being written).
import { html } from '../vendor/lib.js';

export function Campaigns() { return html`<h2>Campaigns</h2>`; }
