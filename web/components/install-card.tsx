"use client";

import { useEffect, useState } from "react";

import { Button } from "@/components/ui/button";
import { CloseIcon, PhoneIcon, ShareIcon } from "@/components/ui/icons";
import { promptInstall, useInstallOption } from "@/lib/install";

const DISMISSED = "echoes:install-dismissed";

/**
 * Offers to add Echoes to the home screen: the browser's own prompt where there is one, the
 * Share-sheet steps on iPhone and iPad. `dismissible` cards stay away once closed.
 */
export function InstallCard({ dismissible = false }: { dismissible?: boolean }) {
  const option = useInstallOption();
  const [dismissed, setDismissed] = useState(true);

  useEffect(() => {
    setDismissed(dismissible && window.localStorage.getItem(DISMISSED) === "1");
  }, [dismissible]);

  if (dismissed || option === "none" || (option === "installed" && dismissible)) return null;

  const close = () => {
    window.localStorage.setItem(DISMISSED, "1");
    setDismissed(true);
  };

  return (
    <section aria-label="Install Echoes" className="relative flex gap-4 rounded-3xl border border-line/70 bg-sand/60 p-5">
      <span aria-hidden className="flex size-11 shrink-0 items-center justify-center rounded-2xl bg-paper text-ember">
        <PhoneIcon />
      </span>
      <div className="flex flex-1 flex-col gap-2 pr-8">
        {option === "installed" ? (
          <p className="text-base text-ink">Echoes is installed on this device.</p>
        ) : (
          <>
            <p className="text-base font-semibold text-ink">Keep Echoes on your home screen</p>
            {option === "prompt" ? (
              <>
                <p className="text-sm leading-relaxed text-muted">It opens like an app, and clips you&apos;ve watched play even without a connection.</p>
                <Button size="sm" className="self-start" onClick={() => void promptInstall()}>
                  Install Echoes
                </Button>
              </>
            ) : (
              <p className="text-sm leading-relaxed text-muted">
                In Safari, tap <ShareIcon className="inline size-4 align-[-2px]" /> <strong className="font-semibold text-ink">Share</strong>, then{" "}
                <strong className="font-semibold text-ink">Add to Home Screen</strong>.
              </p>
            )}
          </>
        )}
      </div>
      {dismissible && (
        <button type="button" onClick={close} aria-label="Not now" className="absolute right-3 top-3 flex size-11 items-center justify-center rounded-full text-muted hover:bg-paper hover:text-ink">
          <CloseIcon />
        </button>
      )}
    </section>
  );
}
