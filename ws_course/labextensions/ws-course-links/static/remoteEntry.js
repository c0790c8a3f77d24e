/*
 * ws-course-links: a link to a heading of another notebook lands on that heading,
 * at the first click too.
 *
 * Why JupyterLab needs this. A click on [TCP window](glossary.ipynb#TCP-window)
 * runs the command "rendermime:handle-local-link", which opens glossary.ipynb and
 * calls its setFragment("#TCP-window"). The notebook waits for its file to load
 * (context.ready), then looks for the element whose id is "TCP-window" in its
 * rendered cells. But markdown cells render *after* the file has loaded, so when
 * the notebook was not open yet, no heading exists at that moment: nothing is
 * found, the notebook shows its top, and the heading appears a moment later.
 * (Seen in JupyterLab 4.6 with every windowing mode, "none" included; a second
 * click works, because the notebook is rendered by then.)
 *
 * In the default windowing mode ("contentVisibility") a cell far down may not
 * render at all until it is scrolled near.
 *
 * What this does. After each such command, it finds the cell whose markdown has
 * the heading (from the cell's source, which is there as soon as the file is),
 * scrolls that cell into view so that it renders, waits until the heading is
 * rendered, then asks the notebook to go to the fragment again with JupyterLab's
 * own setFragment (again a few times while cells above it still render and push
 * it down). It gives up after a few seconds if the heading never renders.
 *
 * Why it is written by hand. A JupyterLab 4 extension is a webpack "module
 * federation" container: an object window._JUPYTERLAB[name] with init() and
 * get(module), which JupyterLab loads from the file that package.json names.
 * This one needs no shared module (it uses only the application object that
 * JupyterLab passes to activate), so it needs no build step either: this file is
 * the whole extension. `python3 course.py lab` tells JupyterLab where it is
 * (--LabApp.extra_labextensions_path).
 */
(function () {
  "use strict";

  var COMMAND = "rendermime:handle-local-link";
  var GIVE_UP_AFTER_MS = 10000;
  var SETTLE_ATTEMPTS = 4;
  var SETTLE_MS = 300;

  /** The open document widget for a server path, if any. */
  function findWidget(app, path) {
    for (var widget of app.shell.widgets("main")) {
      var context = widget.context;
      if (context && (context.localPath === path || context.path === path)) {
        return widget;
      }
    }
    return null;
  }

  /**
   * The id JupyterLab gives a markdown heading: the text it shows, each space a "-"
   * (createHeaderId in @jupyterlab/rendermime). The shown text is the source without
   * inline-code backticks, emphasis marks and link targets.
   */
  function headingId(markdown) {
    return markdown
      .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1")
      .replace(/`/g, "")
      .replace(/\*\*|__|\*/g, "")
      .replace(/ /g, "-");
  }

  /** The markdown cell of ``notebook`` with a heading whose id is ``id``, if any. */
  function findHeadingCell(notebook, id) {
    for (var cell of notebook.widgets) {
      if (cell.model.type !== "markdown") {
        continue;
      }
      var inFence = false;
      for (var line of cell.model.sharedModel.getSource().split("\n")) {
        if (/^ {0,3}(```|~~~)/.test(line)) {
          inFence = !inFence;
        }
        var heading = !inFence && /^ {0,3}#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
        if (heading && headingId(heading[1]) === id) {
          return cell;
        }
      }
    }
    return null;
  }

  /** The rendered element a fragment names (JupyterLab's sanitizer moves ids to data-jupyter-id). */
  function findTarget(node, fragment) {
    var id = CSS.escape(decodeURIComponent(fragment.slice(1)));
    return node.querySelector('[data-jupyter-id="' + id + '"], [id="' + id + '"]');
  }

  /** Resolve once ``node`` holds the fragment's element (true), or after the time limit (false). */
  function rendered(node, fragment) {
    return new Promise(function (resolve) {
      if (findTarget(node, fragment)) {
        resolve(true);
        return;
      }
      var watch = new MutationObserver(function () {
        if (findTarget(node, fragment)) {
          finish(true);
        }
      });
      var timer = setTimeout(function () { finish(false); }, GIVE_UP_AFTER_MS);
      function finish(found) {
        watch.disconnect();
        clearTimeout(timer);
        resolve(found);
      }
      watch.observe(node, { childList: true, subtree: true });
    });
  }

  async function landOnFragment(app, path, fragment) {
    var widget = findWidget(app, path);
    if (!widget || !widget.content || !widget.content.node) {
      return;
    }
    await widget.context.ready;
    var notebook = widget.content;
    var cell = notebook.widgets ? findHeadingCell(notebook, decodeURIComponent(fragment.slice(1))) : null;
    if (cell && typeof notebook.scrollToCell === "function") {
      await notebook.scrollToCell(cell, "start");
    }
    if (!(await rendered(notebook.node, fragment))) {
      return;
    }
    // Cells above the heading may still be rendering and push it down: look again a few times.
    for (var attempt = 0; attempt < SETTLE_ATTEMPTS; attempt++) {
      if (attempt > 0 && atTop(notebook.node, fragment)) {
        return;
      }
      widget.setFragment(fragment);
      await new Promise(function (resolve) { setTimeout(resolve, SETTLE_MS); });
    }
  }

  /** Whether the fragment's element is in the upper half of the notebook's visible part. */
  function atTop(node, fragment) {
    var target = findTarget(node, fragment);
    var scroller = target && target.closest(".jp-WindowedPanel-outer");
    if (!scroller) {
      return false;
    }
    var shown = scroller.getBoundingClientRect();
    var box = target.getBoundingClientRect();
    return box.top >= shown.top && box.bottom <= shown.top + shown.height / 2;
  }

  var plugin = {
    id: "ws-course-links:land-on-fragment",
    description: "A link to a heading of another notebook lands on that heading at the first click.",
    autoStart: true,
    activate: function (app) {
      app.commands.commandExecuted.connect(function (_, executed) {
        var path = executed.args && executed.args.path;
        var fragment = executed.args && executed.args.id;
        if (executed.id !== COMMAND || !path || !fragment || fragment.charAt(0) !== "#" || fragment.length < 2) {
          return;
        }
        Promise.resolve(executed.result)
          .then(function () { return landOnFragment(app, path, fragment); })
          .catch(function (error) { console.warn("ws-course-links:", error); });
      });
    }
  };

  // The module federation container JupyterLab expects: init() receives the shared
  // modules (this extension uses none), get() returns a factory of the module's exports.
  var scope = (window._JUPYTERLAB = window._JUPYTERLAB || {});
  scope["ws-course-links"] = {
    init: function () {},
    get: function (module) {
      if (module !== "./extension") {
        return Promise.reject(new Error("ws-course-links has no module " + module));
      }
      return Promise.resolve(function () { return { __esModule: true, default: plugin }; });
    }
  };
})();
