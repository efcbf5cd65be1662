import type { Metadata } from "next";
import type { ReactNode } from "react";

import { DeleteAccountForm, PasswordForm, SessionsPanel } from "@/components/account-settings";
import { InstallCard } from "@/components/install-card";
import { LogoutForm } from "@/components/logout-form";
import { OfflineSettings } from "@/components/offline-settings";
import { PushSettings } from "@/components/push-settings";
import { RenewSession } from "@/components/renew-session";
import { ButtonAnchor } from "@/components/ui/button";
import { DownloadIcon } from "@/components/ui/icons";
import { requireUser, serverApi, unwrap } from "@/lib/api/server";
import { formatDate } from "@/lib/format";

export const metadata: Metadata = { title: "Settings" };

export default async function SettingsPage() {
  const user = await requireUser("/settings");
  if (!user) return <RenewSession />;
  const api = await serverApi();
  const sessions = await unwrap(api.GET("/api/auth/sessions"));
  return (
    <div className="mx-auto flex w-full max-w-2xl flex-col gap-6 pb-12 pt-2 sm:pt-6">
      <h1 className="font-display text-4xl text-ink sm:text-5xl">Settings</h1>

      <Card title="Account">
        <dl className="grid gap-3 text-base sm:grid-cols-[10rem_1fr]">
          <dt className="text-sm font-semibold text-muted">Name</dt>
          <dd className="text-ink">{user.displayName || "—"}</dd>
          <dt className="text-sm font-semibold text-muted">Email</dt>
          <dd className="break-all text-ink">{user.email}</dd>
          <dt className="text-sm font-semibold text-muted">Member since</dt>
          <dd className="text-ink">{formatDate(user.createdAt)}</dd>
        </dl>
      </Card>

      <Card title="Signed-in browsers">
        <SessionsPanel initial={sessions.items} />
      </Card>

      <Card title="Password">
        <PasswordForm />
      </Card>

      <Card title="Notifications">
        <PushSettings />
      </Card>

      <Card title="On this device">
        <OfflineSettings />
        <InstallCard />
      </Card>

      <Card title="Your data">
        <p className="text-base leading-relaxed text-muted">A ZIP file with your photos, clips, videos and music, and your account, projects, credits and purchases.</p>
        <ButtonAnchor href="/api/me/export" download variant="secondary" className="self-start">
          <DownloadIcon /> Download my data
        </ButtonAnchor>
      </Card>

      <Card title="Delete my account">
        <DeleteAccountForm />
      </Card>

      <LogoutForm className="min-h-12 w-full rounded-full border border-line bg-paper px-6 text-base font-semibold text-ember-deep shadow-sm hover:bg-ember-soft/50 sm:w-auto" />
    </div>
  );
}

function Card({ title, children }: { title: string; children: ReactNode }) {
  return (
    <section className="flex flex-col gap-4 rounded-3xl border border-line/70 bg-paper p-5 shadow-soft sm:p-6">
      <h2 className="font-display text-2xl text-ink">{title}</h2>
      {children}
    </section>
  );
}
