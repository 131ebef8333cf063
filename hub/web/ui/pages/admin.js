// The admin page (placeholder: being written).
import { html } from '../vendor/lib.js';

export function Admin() { return html`<h2>Admin</h2>`; }
