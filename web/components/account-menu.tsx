"use client";

import Link from "next/link";
import { useEffect, useRef } from "react";

import { LogoutForm } from "@/components/logout-form";

/**
 * The account menu: a <details> disclosure, so it opens without JavaScript too; with it, the
 * menu also closes on Escape, on a click outside and after choosing a link.
 */
export function AccountMenu({ name, email }: { name: string; email: string }) {
  const menu = useRef<HTMLDetailsElement>(null);

  useEffect(() => {
    const details = menu.current;
    if (!details) return;
    const close = (event: Event) => {
      if (!details.open) return;
      if (event instanceof KeyboardEvent) {
        if (event.key !== "Escape") return;
        details.open = false;
        details.querySelector("summary")?.focus();
        return;
      }
      if (!details.contains(event.target as Node)) details.open = false;
    };
    document.addEventListener("pointerdown", close);
    document.addEventListener("keydown", close);
    return () => {
      document.removeEventListener("pointerdown", close);
      document.removeEventListener("keydown", close);
    };
  }, []);

  const initial = (name.trim()[0] ?? "?").toUpperCase();
  const closeMenu = () => {
    if (menu.current) menu.current.open = false;
  };

  return (
    <details ref={menu} className="group relative">
      <summary
        aria-label="Account menu"
        className="flex size-11 cursor-pointer list-none items-center justify-center rounded-full bg-sand text-base font-semibold text-ember-deep hover:bg-ember-soft [&::-webkit-details-marker]:hidden"
      >
        {initial}
      </summary>
      <div className="absolute right-0 z-30 mt-2 w-64 rounded-2xl border border-line bg-paper p-2 shadow-lift">
        <div className="px-3 py-2">
          <p className="truncate text-sm font-semibold text-ink">{name}</p>
          <p className="truncate text-sm text-muted">{email}</p>
        </div>
        <nav aria-label="Account" className="flex flex-col border-t border-line pt-1">
          <MenuLink href="/dashboard" onChoose={closeMenu}>
            My projects
          </MenuLink>
          <MenuLink href="/credits" onChoose={closeMenu}>
            Buy credits
          </MenuLink>
          <MenuLink href="/settings" onChoose={closeMenu}>
            Settings
          </MenuLink>
          <LogoutForm className="flex min-h-11 w-full items-center rounded-xl px-3 text-left text-sm font-medium text-ember-deep hover:bg-ember-soft/60" />
        </nav>
      </div>
    </details>
  );
}

function MenuLink({ href, children, onChoose }: { href: string; children: string; onChoose: () => void }) {
  return (
    <Link href={href} onClick={onChoose} className="flex min-h-11 items-center rounded-xl px-3 text-sm font-medium text-ink hover:bg-sand/70">
      {children}
    </Link>
  );
}
