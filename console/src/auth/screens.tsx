import { Alert, Button, Center, Loader, Paper, Stack, Text, TextInput, Title } from '@mantine/core';
import { useEffect, useRef, useState } from 'react';
import { useNavigate } from 'react-router';
import { texts } from '../texts';
import { completeSignIn, rememberedIssuer, signOut, startSignIn } from './session';

function Frame({ children }: { children: React.ReactNode }) {
  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder shadow="sm" p="xl" radius="md" w="100%" maw={440}>
        <Stack>{children}</Stack>
      </Paper>
    </Center>
  );
}

/**
 * The sign-in screen. A tab that signed in before (its issuer remembered) goes straight back to its
 * tenant's authorization endpoint, which answers at once while that sign-in lasts.
 */
export function SignInScreen({ failure }: { failure: string | null }) {
  const params = new URLSearchParams(window.location.search);
  const [organization, setOrganization] = useState(params.get('organization') ?? '');
  const [busy, setBusy] = useState(false);
  const issuer = rememberedIssuer();
  const returnTo = `${window.location.pathname}${window.location.search}`;
  const automatic = !failure && issuer !== null;
  useEffect(() => {
    if (automatic && issuer) void startSignIn({ issuer, returnTo });
  }, [automatic, issuer, returnTo]);
  if (automatic) {
    return (
      <Frame>
        <Center>
          <Loader role="progressbar" aria-label={texts.auth.signingIn} />
        </Center>
      </Frame>
    );
  }
  return (
    <Frame>
      <Title order={1} size="h3">
        {texts.auth.title}
      </Title>
      <Text size="sm" c="dimmed">
        {texts.auth.intro}
      </Text>
      {failure ? (
        <Alert color="red" title={texts.auth.failed} role="alert">
          {failure}
        </Alert>
      ) : null}
      <form
        onSubmit={(event) => {
          event.preventDefault();
          setBusy(true);
          void startSignIn({ organization: organization || undefined, returnTo: '/console/' });
        }}
      >
        <Stack>
          <TextInput
            label={texts.auth.organization}
            description={texts.auth.organizationHelp}
            value={organization}
            onChange={(event) => setOrganization(event.currentTarget.value)}
            autoComplete="organization"
          />
          <Button type="submit" loading={busy}>
            {texts.auth.signIn}
          </Button>
        </Stack>
      </form>
    </Frame>
  );
}

/** /console/callback: redeems the code, then goes where the person was going. */
export function CallbackScreen() {
  const navigate = useNavigate();
  const started = useRef(false);
  useEffect(() => {
    if (started.current) return;
    started.current = true;
    completeSignIn(new URL(window.location.href))
      .then((returnTo) => navigate(returnTo.replace(/^\/console/, '') || '/', { replace: true }))
      .catch(() => navigate('/', { replace: true }));
  }, [navigate]);
  return (
    <Frame>
      <Center>
        <Loader role="progressbar" aria-label={texts.auth.signingIn} />
      </Center>
    </Frame>
  );
}

/** Signed in, but without an admin role: nothing to administer. */
export function NoRoleScreen() {
  return (
    <Frame>
      <Title order={1} size="h3">
        {texts.app.name}
      </Title>
      <Alert color="yellow" role="alert">
        {texts.auth.noRole}
      </Alert>
      <Button variant="default" onClick={() => void signOut()}>
        {texts.app.signOut}
      </Button>
    </Frame>
  );
}
