# package-lock.json with a `resolved` URL on every registry package, for importNpmLock.
# npm leaves `resolved` out when omit-lockfile-registry-resolved is set (as on the machines this
# project is developed on); importNpmLock only fetches entries that have one, so without this the
# offline `npm install` in the build cannot find them. Entries that already have a URL, links,
# bundled packages and the root are kept as they are. Pure: evaluates without nixpkgs.
{
  lock,
  registry ? "https://registry.npmjs.org",
}:
let
  inherit (builtins)
    elemAt
    length
    mapAttrs
    match
    split
    filter
    isString
    ;

  # "node_modules/a/node_modules/@scope/b" -> "@scope/b"
  nameFromPath =
    path:
    let
      parts = filter isString (split "node_modules/" path);
    in
    elemAt parts (length parts - 1);

  tarballUrl =
    name: version:
    let
      scoped = match "(@[^/]+)/(.+)" name;
      base = if scoped == null then name else elemAt scoped 1;
    in
    "${registry}/${name}/-/${base}-${version}.tgz";

  withResolved =
    path: entry:
    if
      path == ""
      || entry ? resolved
      || (entry.link or false)
      || (entry.inBundle or false)
      || !(entry ? version)
      || !(entry ? integrity)
    then
      entry
    else
      entry // { resolved = tarballUrl (entry.name or (nameFromPath path)) entry.version; };
in
lock // { packages = mapAttrs withResolved (lock.packages or { }); }
