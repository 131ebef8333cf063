// The stores page (placeholder: being written).
import { html } from '../vendor/lib.js';

export function Stores() { return html`<h2>Stores</h2>`; }
