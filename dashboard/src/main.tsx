/** The dashboard's entry: takes a `?token=` from the address, starts the live store, renders the page. */
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { App } from './app';
import { store } from './store';
import { takeTokenFromUrl } from './token';
import './styles.css';

takeTokenFromUrl();
store.start();
const root = document.getElementById('root');
if (root) {
  createRoot(root).render(
    <StrictMode>
      <App />
    </StrictMode>,
  );
}
