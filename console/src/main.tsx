import '@mantine/core/styles.css';
import '@mantine/notifications/styles.css';
import './styles.css';
import { createTheme, MantineProvider, Modal, Notification } from '@mantine/core';
import { Notifications } from '@mantine/notifications';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { setNonce } from 'get-nonce';
import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { BrowserRouter } from 'react-router';
import { ApiError } from './api/client';
import { App } from './app';
import { cspNonce } from './config';
import { texts } from './texts';

// Mantine's scroll lock (react-remove-scroll) adds a <style> of its own through get-nonce: it gets the
// page's nonce too (style-src 'nonce-…').
setNonce(cspNonce);

const theme = createTheme({
  primaryColor: 'blue',
  // WCAG AA contrast for text on the primary color in both schemes.
  primaryShade: { light: 8, dark: 5 },
  autoContrast: true,
  components: {
    // The close buttons of dialogs and notifications have a name for screen readers.
    Notification: Notification.extend({
      defaultProps: { closeButtonProps: { 'aria-label': texts.common.close } },
    }),
    Modal: Modal.extend({ defaultProps: { closeButtonProps: { 'aria-label': texts.common.close } } }),
  },
});

const queries = new QueryClient({
  defaultOptions: {
    queries: {
      staleTime: 10_000,
      // A 4xx is an answer, not a hiccup: show it at once.
      retry: (count, error) => !(error instanceof ApiError && error.status < 500) && count < 2,
      refetchOnWindowFocus: false,
    },
  },
});

const root = document.getElementById('root');
if (!root) throw new Error('index.html has no #root');
createRoot(root).render(
  <StrictMode>
    <MantineProvider theme={theme} defaultColorScheme="auto" getStyleNonce={() => cspNonce}>
      <Notifications />
      <QueryClientProvider client={queries}>
        <BrowserRouter basename="/console">
          <App />
        </BrowserRouter>
      </QueryClientProvider>
    </MantineProvider>
  </StrictMode>,
);
